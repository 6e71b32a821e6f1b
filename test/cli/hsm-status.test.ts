/** `xksctl hsm status` against the nShield stand-ins: healthy, FIPS, and each failure. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, test } from "node:test";
import { createExec } from "../../src/platform/exec.js";
import { STANDIN_BIN, createStandinWorld, fastTimeoutExec, runStandin, runXksctl, type StandinWorld } from "../helpers/operator.js";

let world: StandinWorld | undefined;
afterEach(() => world?.cleanup());
function newWorld(env: NodeJS.ProcessEnv = {}): StandinWorld {
  world = createStandinWorld(undefined, env);
  return world;
}
/** Puts a key record in the stand-in's kmdata (its own state format; no SoftHSM needed here). */
function standinKey(w: StandinWorld, name: string, protect: "module" | "token", ident: string): void {
  fs.writeFileSync(path.join(w.home, "kmdata/local", `key_pkcs11_${ident}`), JSON.stringify({ app: "pkcs11", ident, plainname: name, protect }));
}

describe("hsm status", () => {
  test("a healthy world: text report, exit 0, only enquiry and nfkminfo run", async () => {
    const w = newWorld();
    runStandin(w, "createocs", ["-m", "1", "-Q", "1/1", "-N", "xksocs"]);
    standinKey(w, "xks-key-1", "module", `ua${"1".repeat(40)}`);
    const r = await runXksctl(["hsm", "status"], { env: w.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Hardserver   operational, flags none, version 13\.3\.2$/m);
    assert.match(r.stdout, /^World        usable \(state 0x37270008 Initialised Usable /m);
    assert.match(r.stdout, /^World mode   none$/m);
    assert.match(r.stdout, /^Module #1    usable: operational, 0x2 Usable, ESN 530E-02E0-D947, firmware 12\.80\.4$/m);
    assert.match(r.stdout, /^Protection   module, ocs$/m);
    assert.match(r.stdout, /^Card sets    xksocs \(1\/1, hkltu [0-9a-f]{40}\)$/m);
    assert.match(r.stdout, /^  xks-key-1 +pkcs11 +module +ua1{40}$/m);
    assert.match(r.stdout, /✔ The HSM is usable for XKS keys\./);
    assert.deepEqual(w.invocations().map((i) => [i.tool, ...i.argv].join(" ")), ["enquiry", "nfkminfo", "nfkminfo -l", "nfkminfo -c"]);
  });

  test("--json", async () => {
    const w = newWorld();
    const r = await runXksctl(["hsm", "status", "--json"], { env: w.env });
    assert.equal(r.code, 0);
    const j = JSON.parse(r.stdout);
    assert.equal(j.usable, true);
    assert.equal(j.world.mode, "none");
    assert.equal(j.world.fips, false);
    assert.deepEqual(j.protection, ["module"]);
    assert.deepEqual(j.cardsets, []);
    assert.deepEqual(j.keys, []);
    assert.equal(j.modules[0].serial, "530E-02E0-D947");
  });

  test("a FIPS 140 Level 3 world is reported, with a warning about cards for key generation", async () => {
    const w = newWorld({ NFAST_STANDIN_WORLD_MODE: "fips1402level3" });
    const r = await runXksctl(["hsm", "status"], { env: w.env });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^World mode   fips1402level3 \(FIPS\), key generation needs a card$/m);
    assert.match(r.stderr, /warning: world mode fips1402level3: generating a key needs an Administrator or Operator Card/);
  });

  test("world not usable: report, the fix, exit 1", async () => {
    const w = newWorld({ NFAST_STANDIN_FAIL: "world-unusable" });
    const r = await runXksctl(["hsm", "status"], { env: w.env });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^World        NOT usable \(state 0x37000001 Initialised !Usable Recovery\)$/m);
    assert.match(r.stdout, /✖ The Security World is not usable \(state 0x37000001 Initialised !Usable Recovery\)\.\n→ Load or create the Security World \(`new-world`\), then check `nfkminfo`\./);
    const j = JSON.parse((await runXksctl(["hsm", "status", "--json"], { env: w.env })).stdout);
    assert.equal(j.usable, false);
    assert.deepEqual(j.problems.map((p: { code: string }) => p.code), ["XKS_WORLD_UNUSABLE"]);
  });

  test("module not usable: exit 1 with the module fix", async () => {
    const w = newWorld({ NFAST_STANDIN_FAIL: "module-unusable" });
    const r = await runXksctl(["hsm", "status"], { env: w.env });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /✖ Module #1 is not usable \(state 0x1 PreInitMode\)\.\n→ Check the module is in operational mode and enrolled/);
    assert.match(r.stdout, /✖ Module #1: enquiry reports mode initialization, flags Offline, hardware OK\./);
  });

  test("hardserver down: one typed error, exit 1, text and --json", async () => {
    const w = newWorld({ NFAST_STANDIN_FAIL: "hardserver-down" });
    const r = await runXksctl(["hsm", "status"], { env: w.env });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /✖ enquiry: the nShield hardserver is not running \("enquiry: NFastApp_Connect failed: ServerNotRunning"\)/);
    assert.match(r.stderr, /→ Start the hardserver: `\/opt\/nfast\/sbin\/init\.d-ncipher start`\./);
    const j = await runXksctl(["hsm", "status", "--json"], { env: w.env });
    assert.equal(j.code, 1);
    assert.equal(JSON.parse(j.stderr).error.code, "XKS_HARDSERVER_DOWN");
  });

  test("tools not installed: XKS_TOOL_MISSING, exit 1", async () => {
    const w = newWorld();
    const r = await runXksctl(["hsm", "status"], { env: { PATH: "/usr/bin:/bin", NFAST_HOME: w.home } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✖ The nShield tool `enquiry` was not found on PATH, in \$NFAST_HOME\/bin or in \/opt\/nfast\/bin\.\n→ Install the nShield Security World software, or set NFAST_HOME/);
  });

  test("tools found in $NFAST_HOME/bin when not on PATH", async () => {
    const w = newWorld();
    fs.symlinkSync(STANDIN_BIN, path.join(w.home, "bin"));
    const r = await runXksctl(["hsm", "status", "--json"], { env: { ...w.env, PATH: "/usr/local/bin:/usr/bin:/bin" } });
    assert.equal(r.code, 0, r.stderr);
  });

  test("a hanging tool is stopped: XKS_TOOL_TIMEOUT, exit 1", async () => {
    const w = newWorld({ NFAST_STANDIN_HANG: "nfkminfo" });
    const r = await runXksctl(["hsm", "status"], { env: w.env, operator: { exec: fastTimeoutExec(createExec(w.env, { killGraceMs: 100 }), 400) } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✖ nfkminfo did not finish within 400 ms and was stopped: .*nfkminfo\n→ Check the hardserver responds/);
  });

  test("output no parser knows: XKS_TOOL_OUTPUT quoting the line, exit 1", async () => {
    const w = newWorld({ NFAST_STANDIN_GARBAGE: "nfkminfo" });
    const r = await runXksctl(["hsm", "status"], { env: w.env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✖ Unexpected output from nfkminfo: an unknown section header: "Welcome to the nShield stand-in's surprise format"\n→ xksctl did not understand this nShield version's output/);
  });

  test("an unreadable card set list is a warning, not a failure", async () => {
    const w = newWorld();
    // The -c shape is provisional ([I]); simulate a real HSM printing another shape.
    const inner = createExec(w.env);
    const r = await runXksctl(["hsm", "status"], {
      env: w.env,
      operator: { exec: { run: async (req) => (req.args[0] === "-c" ? { command: "nfkminfo -c", exitCode: 0, stdout: "Cardsets:\n  none\n", stderr: "" } : inner.run(req)) } },
    });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Card sets    \(could not be listed\)$/m);
    assert.match(r.stderr, /warning: card sets not listed: Unexpected output from nfkminfo -c: not a card set line: "Cardsets:"/);
  });
});
