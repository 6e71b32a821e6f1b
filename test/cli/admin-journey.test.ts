/**
 * What an admin does, with the real binary and the nShield stand-ins first on PATH:
 * `keys create` (generatekey → a real AES-256 key in SoftHSM), `creds generate`, `serve`, and a
 * KMS-signed Encrypt/Decrypt round trip with that key and those credentials.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { createStandinWorld, commentedSettings } from "../helpers/operator.js";
import { md } from "../helpers/proxy.js";
import { runBin, startServe } from "../helpers/serve-process.js";
import { agents, smithyPost } from "../helpers/sign.js";
import { createTestToken } from "../helpers/softhsm.js";
import { createTestPki } from "../helpers/tls.js";

const token = createTestToken("xks-admin");
const world = createStandinWorld(token);
const pki = createTestPki();
const { h2 } = agents(fs.readFileSync(pki.caCert));
after(async () => {
  await h2.close();
  world.cleanup();
});

test("keys create → creds generate → serve → signed Encrypt/Decrypt with that key", async () => {
  const settingsFile = path.join(token.dir, "settings.toml");
  let text = commentedSettings({ tokenLabel: token.label, pin: token.pin, keyIds: [] });
  // Serve over TLS on a free port, as a real deployment would.
  text = text
    .replace("is_stdout_writer_enabled = false", "is_stdout_writer_enabled = true")
    .replace("is_tls_enabled = false\nis_mtls_enabled = false\n", `is_tls_enabled = true\nis_mtls_enabled = false\n\n[tls]\ntls_cert_pem = "${pki.serverCert}"\ntls_key_pem = "${pki.serverKey}"\n`);
  assert.match(text, /\[tls\]/);
  fs.writeFileSync(settingsFile, text, { mode: 0o600 });
  const env = { ...world.env, CI: "1" };

  const created = await runBin(["keys", "create", "payments-key-1", "--protect", "module", "--config", settingsFile], env);
  assert.equal(created.code, 0, created.stderr + created.stdout);
  assert.match(created.stdout, /✔ Created AES-256 key "payments-key-1" \(module protection\)/);
  assert.ok(world.invocations().some((i) => i.tool === "generatekey" && i.argv.includes("plainname=payments-key-1")));

  const creds = await runBin(["creds", "generate", "--config", settingsFile, "--json"], env);
  assert.equal(creds.code, 0, creds.stderr + creds.stdout);
  const c = JSON.parse(creds.stdout) as { accessKeyId: string; secretAccessKey: string; uriPath: string };
  assert.match(c.accessKeyId, /^[A-Z2-7]{20,30}$/);
  const prefix = c.uriPath.replace(/\/kms\/xks\/v1$/, "");

  const s = await startServe(settingsFile, env);
  try {
    const url = (op: string) => `${s.url}${prefix}/kms/xks/v1/keys/payments-key-1/${op}`;
    const signer = { accessKeyId: c.accessKeyId, secret: c.secretAccessKey };
    const meta = await smithyPost(url("metadata"), { requestMetadata: md("CreateKey") }, h2, signer);
    assert.equal(meta.status, 200, meta.text);
    assert.equal(meta.json.keySpec, "AES_256");
    const plaintext = Buffer.from("a data key for the payments system").toString("base64");
    const enc = await smithyPost(url("encrypt"), { requestMetadata: md(), plaintext, encryptionAlgorithm: "AES_GCM" }, h2, signer);
    assert.equal(enc.status, 200, enc.text);
    const dec = await smithyPost(
      url("decrypt"),
      { requestMetadata: md("Decrypt"), encryptionAlgorithm: "AES_GCM", ciphertext: enc.json.ciphertext, initializationVector: enc.json.initializationVector, authenticationTag: enc.json.authenticationTag },
      h2,
      signer,
    );
    assert.equal(dec.status, 200, dec.text);
    assert.equal(dec.json.plaintext, plaintext);
  } finally {
    assert.equal(await s.stop(), 0);
  }
});
