/**
 * `xksctl doctor` through the real binary on the README's quickstart setup (`xksctl init` on
 * SoftHSM, then `xksctl serve`): exit 0 with the nShield checks not applicable and the
 * production-only items as warnings; exit 1 naming a key id the HSM lacks; exit 1 naming the
 * network check when the proxy is stopped; --json alone on stdout; --url against the running
 * proxy; usage errors exit 2; the nShield stand-ins' failure modes; no colours without a terminal.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { freePorts } from "../helpers/port.js";
import { runBin, startServe, type ServeProcess } from "../helpers/serve-process.js";
import { STANDIN_BIN } from "../helpers/operator.js";
import { DOCTOR_CHECKS } from "../../src/workflows/doctor/index.js";
import { tempDir } from "../helpers/tmp.js";

const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: os.tmpdir() };
let dir: string;
let settings: string;
let port: number;
let serve: ServeProcess | undefined;

/** Stops the proxy if it runs. */
async function stopServe(): Promise<void> {
  if (!serve) return;
  await serve.stop();
  serve = undefined;
}

/** `xksctl doctor …` from another working directory, as an admin would run it. */
const doctor = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runBin(["doctor", ...args], { ...env, ...extraEnv }, 60_000);
/** The report line of a check. */
const line = (out: string, id: string): string => out.split("\n").find((l) => new RegExp(`^. \\S+\\s+${id.replace(".", "\\.")}\\s`).test(l)) ?? "";

before(async () => {
  dir = tempDir("xksctl-doctor-cli-");
  let pingPort: number;
  [port, pingPort] = (await freePorts(2)) as [number, number];
  const init = await runBin(["init", "--backend", "softhsm", "--dir", dir, "--port", String(port), "--ping-port", String(pingPort), "--yes"], env, 120_000);
  assert.equal(init.code, 0, `init: ${init.stdout}\n${init.stderr}`);
  settings = path.join(dir, "settings.toml");
  // Its own port from the settings, from another working directory.
  serve = await startServe(["serve", "--config", settings], env, { cwd: os.tmpdir() });
});

after(async () => {
  await stopServe();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the quickstart setup with the proxy running", () => {
  test("exit 0: nShield not applicable, a public CA / DNS name / port 443 only warnings, no failure", async () => {
    const r = await doctor(["--config", settings]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /FAIL/);
    for (const id of ["nshield.tools", "nshield.world", "nshield.cknfastrc"]) assert.match(line(r.stdout, id), /skip .*skipped: not applicable: no nShield here/);
    assert.match(line(r.stdout, "tls.root"), /^! warn .*a self-signed certificate, which AWS KMS does not trust .*fine for this local setup/);
    assert.match(line(r.stdout, "endpoint.url"), /^! warn .*no endpoint given/);
    assert.match(line(r.stdout, "endpoint.port"), new RegExp(`^! warn .*\\[server\\] port = ${port}, but KMS connects to port 443`));
    for (const id of ["settings.valid", "settings.permissions", "pkcs11.login", "pkcs11.keys", "pkcs11.roundtrip", "pkcs11.iv", "tls.key-match", "network.listen", "network.ping", "live.metadata", "live.crypto", "live.auth", "live.clock"]) {
      assert.match(line(r.stdout, id), /^✔ pass /, id);
    }
    // A health check slower than 100 ms on a loaded machine reports DEGRADED: a warning, never a failure.
    assert.match(line(r.stdout, "live.health"), /^(✔ pass .*ACTIVE|! warn .*DEGRADED)/);
    assert.match(line(r.stdout, "live.health"), /200 over HTTP\/2/);
    assert.match(r.stdout, /✔ no failures \(see the warnings\) \(.*settings\.toml\): \d+ passed, [34] warnings, 0 failed, 9 skipped\n$/);
    assert.doesNotMatch(r.stdout, /\x1b\[/, "no colours without a terminal");
  });

  test("--json: the report alone on stdout, each check with id, group, status, message, fix, duration", async () => {
    const r = await doctor(["--config", settings, "--json"]);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, "");
    const j = JSON.parse(r.stdout) as { ok: boolean; summary: Record<string, number>; checks: Record<string, unknown>[] };
    assert.equal(j.ok, true);
    assert.equal(j.summary.fail, 0);
    assert.deepEqual(j.checks.map((c) => c.id), DOCTOR_CHECKS.map((c) => c.id));
    for (const c of j.checks) assert.deepEqual(Object.keys(c), ["id", "group", "status", "message", "fix", "duration"]);
    assert.equal(j.checks.find((c) => c.id === "tls.root")!.status, "warn");
  });

  test("--url: the live checks against the running proxy, as KMS calls it", async () => {
    const text = fs.readFileSync(settings, "utf8");
    const akid = /sigv4_access_key_id = "([A-Z2-7]+)"/.exec(text)![1]!;
    const secret = /sigv4_secret_access_key = "([^"]+)"/.exec(text)![1]!;
    const secretFile = path.join(dir, "doctor-secret");
    fs.writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
    const r = await doctor(["--url", `https://localhost:${port}`, "--access-key-id", akid, "--secret-file", secretFile, "--key-id", "demo-key", "--ca-file", path.join(dir, "tls", "cert.pem")]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(r.stdout.split("\n").filter((l) => /^. \S+\s+live\./.test(l)).map((l) => l.split(/\s+/)[2]), ["live.health", "live.metadata", "live.crypto", "live.auth", "live.clock"]);
    assert.match(r.stdout, /0 failed/);
  });

  test("FORCE_COLOR=1 colours the report", async () => {
    const r = await doctor(["--config", settings, "--group", "settings"], { FORCE_COLOR: "1" });
    assert.match(r.stdout, /\x1b\[32m✔/);
  });
});

describe("failures an admin meets", () => {
  test("a key id the HSM lacks: exit 1 on lines naming the key", async () => {
    const copy = path.join(dir, "ghost.toml");
    fs.writeFileSync(copy, fs.readFileSync(settings, "utf8").replace(/xks_key_id_set = \[[^\]]*\]/, 'xks_key_id_set = ["demo-key", "ghost-key"]'), { mode: 0o600 });
    const r = await doctor(["--config", copy, "--group", "pkcs11", "live"]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(line(r.stdout, "pkcs11.keys"), /^✖ FAIL .*"ghost-key" \(store ""\): not on the token/);
    assert.match(line(r.stdout, "live.metadata"), /^✖ FAIL .*key "ghost-key": 404 KeyNotFoundException/);
    assert.match(r.stdout, /→ Create "ghost-key" in the HSM/);
  });

  test("the nShield stand-ins with a world that is not usable: exit 1, the world check named with its fix", async () => {
    const home = tempDir("xksctl-nfast-");
    fs.mkdirSync(path.join(home, "kmdata", "local"), { recursive: true });
    const r = await doctor(["--config", settings, "--group", "nshield"], { PATH: `${STANDIN_BIN}${path.delimiter}${env.PATH}`, NFAST_HOME: home, NFAST_STANDIN_FAIL: "world-unusable" });
    fs.rmSync(home, { recursive: true, force: true });
    assert.equal(r.code, 1, r.stdout);
    assert.match(line(r.stdout, "nshield.world"), /^✖ FAIL .*the Security World is not usable \(state 0x37000001 Initialised !Usable Recovery\)/);
    assert.match(r.stdout, /→ Load or create the Security World \(`new-world`\), then check `nfkminfo`\./);
    assert.match(line(r.stdout, "nshield.hardserver"), /^✔ pass/);
  });

  test("usage errors exit 2", async () => {
    const g = await doctor(["--group", "bogus"]);
    assert.equal(g.code, 2);
    assert.match(g.stderr, /--group: unknown "bogus"/);
    const u = await doctor(["--access-key-id", "AKIAXKSCTLTESTMAINKEY2"]);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /--access-key-id goes with --url/);
  });

  test("the proxy stopped: exit 1 naming network.listen, with the command that starts it", async () => {
    await stopServe();
    const r = await doctor(["--config", settings]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(line(r.stdout, "network.listen"), new RegExp(`^✖ FAIL .*nothing accepts connections on 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
    assert.match(r.stdout, new RegExp(`→ Start the proxy: \`xksctl serve --config ${settings.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\``));
    assert.match(line(r.stdout, "live.health"), /skipped: needs: network.listen/);
    assert.match(line(r.stdout, "pkcs11.roundtrip"), /^✔ pass/, "the other checks still run");
  });
});
