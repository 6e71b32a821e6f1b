/**
 * `xksctl init` on the softhsm backend (what the quickstart runs, scripted): a key store folder
 * whose settings both proxies can read and that `serve` uses with no SOFTHSM2_CONF, files with
 * the right modes, a printed curl call that works, and re-runs that keep or replace it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import TOML from "@iarna/toml";
import { checkSettingsFile, defaultValidateDeps } from "../../src/config/load.js";
import { runBin, startServe } from "../helpers/serve-process.js";
import { tempDir } from "../helpers/tmp.js";

const root = tempDir("xksctl-init-");
const dir = path.join(root, "ks");
const mode = (f: string) => (fs.statSync(path.join(dir, f)).mode & 0o777).toString(8);
/** No nShield tools, no SOFTHSM2_CONF, no terminal. */
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: root, NFAST_HOME: path.join(root, "no-nfast"), CI: "1" };
const accessKeyId = () => (TOML.parse(fs.readFileSync(path.join(dir, "settings.toml"), "utf8")) as { external_key_stores: { sigv4_access_key_id: string }[] }).external_key_stores[0]!.sigv4_access_key_id;

test("init --yes creates token, key, TLS, credential and settings; serve (no SOFTHSM2_CONF) answers the printed curl", async () => {
  const r = await runBin(["init", "--dir", dir, "--port", "18943", "--key-id", "demo-key", "--prefix", "/bank/xks", "--yes"], env, 60_000, root);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /✔ Key store ready in /);
  assert.match(r.stdout, /curl -sS --cacert .*tls\/cert\.pem/);
  assert.match(r.stdout, /xksctl serve --config \S+settings\.toml/);
  assert.doesNotMatch(r.stdout, /SOFTHSM2_CONF=/);
  for (const [f, m] of [["settings.toml", "600"], ["tls/key.pem", "600"], ["so-pin", "600"], ["curl-example.sh", "600"], ["tls/cert.pem", "644"]]) assert.equal(mode(f!), m, f);
  const checked = checkSettingsFile(path.join(dir, "settings.toml"), defaultValidateDeps({}));
  assert.deepEqual(checked.problems, []);
  assert.deepEqual(checked.warnings, [], "only keys the reference proxy knows, plus the token_label and softhsm2_conf extensions");
  const serveEnv = { ...process.env };
  delete serveEnv.SOFTHSM2_CONF;
  const s = await startServe(path.join(dir, "settings.toml"), serveEnv, { cwd: os.tmpdir() });
  try {
    // The example names the configured port; point it at the test's port instead.
    const script = fs.readFileSync(path.join(dir, "curl-example.sh"), "utf8").replace("localhost:18943", `localhost:${s.port}`);
    const out = await new Promise<string>((resolve, reject) => execFile("sh", ["-c", script], (e, so, se) => (e ? reject(new Error(se)) : resolve(so))));
    const body = JSON.parse(out);
    assert.equal(Buffer.from(body.ciphertext, "base64").length, "Hello, XKS!".length);
  } finally {
    await s.stop();
  }
});

test("init again: --yes keeps a working key store; without --yes or --force it asks (exit 2); --force starts over", async () => {
  const settings = path.join(dir, "settings.toml");
  const before = fs.readFileSync(settings);
  const keep = await runBin(["init", "--dir", dir, "--yes"], env, 60_000, root);
  assert.equal(keep.code, 0, keep.stderr);
  assert.match(keep.stdout, /✔ key demo-key: AES-GCM round trip in the HSM ok \(AES_256\)/);
  assert.match(keep.stdout, /✔ Kept the setup in /);
  assert.deepEqual(fs.readFileSync(settings), before);

  const ask = await runBin(["init", "--dir", dir], env, 60_000, root);
  assert.equal(ask.code, 2);
  assert.match(ask.stderr, /is already set up, and there is no terminal to ask what to do\.\n→ Pass --yes \(keep it when it works\), --force/);

  const oldId = accessKeyId();
  const force = await runBin(["init", "--dir", dir, "--force", "--yes", "--port", "18944"], env, 60_000, root);
  assert.equal(force.code, 0, force.stderr);
  assert.notEqual(accessKeyId(), oldId, "a new token and a new credential");
  assert.deepEqual(fs.readFileSync(`${settings}.bak`), before);
  assert.equal(mode("settings.toml.bak"), "600");
  assert.equal(mode("tls/key.pem.bak"), "600");
});

test("a bad key id is refused before anything is written", async () => {
  const other = path.join(root, "other");
  const r = await runBin(["init", "--dir", other, "--key-id", "a/b", "--yes"], env, 60_000, root);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Key id "a\/b" is not a valid XKS key id: it contains "\/"/);
  assert.equal(fs.existsSync(other), false);
});
