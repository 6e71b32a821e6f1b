/**
 * `xksctl init` (what the quickstart runs): a key store folder whose settings both proxies can
 * read, files with the right modes, and a printed curl call that works against `serve`.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { checkSettingsFile, defaultValidateDeps } from "../../src/config/load.js";
import { runBin, startServe } from "../helpers/serve-process.js";

const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "xksctl-init-")), "ks");
const mode = (f: string) => (fs.statSync(path.join(dir, f)).mode & 0o777).toString(8);

test("init creates token, key, TLS, credential and settings; serve answers the printed curl", async () => {
  const r = await runBin(["init", "--dir", dir, "--port", "18943", "--key-id", "demo-key", "--prefix", "/bank/xks"], { ...process.env, CI: "1" });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /✔ Key store ready in /);
  assert.match(r.stdout, /curl -sS --cacert .*tls\/cert\.pem/);
  for (const [f, m] of [["settings.toml", "600"], ["tls/key.pem", "600"], ["so-pin", "600"], ["curl-example.sh", "600"]]) assert.equal(mode(f!), m, f);
  const checked = checkSettingsFile(path.join(dir, "settings.toml"), defaultValidateDeps({}));
  assert.deepEqual(checked.problems, []);
  assert.deepEqual(checked.warnings, [], "only keys the reference proxy knows, plus token_label");
  const s = await startServe(path.join(dir, "settings.toml"), { ...process.env, SOFTHSM2_CONF: path.join(dir, "softhsm2.conf") });
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

test("init refuses to overwrite an existing key store without --force", async () => {
  const r = await runBin(["init", "--dir", dir, "--port", "18943"], { ...process.env, CI: "1" });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /settings\.toml already exists\./);
  assert.match(r.stderr, /→ Use it as it is/);
});

test("init without a terminal uses defaults; a bad key id is refused", async () => {
  const r = await runBin(["init", "--dir", path.join(dir, "other"), "--key-id", "a/b"], { ...process.env, CI: "1" });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Key id "a\/b" is not a valid XKS key id: it contains "\/"/);
});
