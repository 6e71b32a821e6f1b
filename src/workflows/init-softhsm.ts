/**
 * `xksctl init --hsm softhsm`: a complete local key store in one folder, for development and the
 * quickstart: SoftHSM token and AES-256 key, self-signed TLS, SigV4 credential, settings file.
 */
import fs from "node:fs";
import path from "node:path";
import { XksctlError } from "../errors.js";
import { assertKeyId } from "../rules.js";
import type { Exec } from "../platform/exec.js";
import { createAesKey } from "../hsm/pkcs11/create-key.js";
import { SOFTHSM_MODULE, initSoftHsmToken, writeSoftHsmConf } from "../hsm/softhsm.js";
import { writeFileAtomic } from "../platform/atomic-write.js";
import { newCredential } from "../config/creds.js";
import { renderSettings } from "../config/render-settings.js";
import { createSelfSignedTls } from "./tls-selfsigned.js";

/** Choices for a SoftHSM key store. */
export interface SoftHsmInitInput {
  dir: string;
  port: number;
  pingPort: number;
  keyId: string;
  prefix: string;
  region: string;
  tokenLabel: string;
  force: boolean;
  exec: Exec;
  env: NodeJS.ProcessEnv;
  randomBytes: (n: number) => Buffer;
}

/** What was created; `secretAccessKey` is for the one-time display. */
export interface SoftHsmInitResult {
  dir: string;
  settingsFile: string;
  softhsmConf: string;
  tokenLabel: string;
  keyId: string;
  accessKeyId: string;
  secretAccessKey: string;
  certFile: string;
  port: number;
  prefix: string;
  region: string;
}

/** Creates the key store folder; refuses to overwrite an existing one unless `force`. */
export async function initSoftHsm(input: SoftHsmInitInput): Promise<SoftHsmInitResult> {
  assertKeyId(input.keyId);
  const dir = path.resolve(input.dir);
  const settingsFile = path.join(dir, "settings.toml");
  if (fs.existsSync(settingsFile) && !input.force) {
    throw new XksctlError("XKS_FILE_WRITE", `${settingsFile} already exists.`, { remedy: "Use it as it is (`xksctl serve --config ...`), or pass --force to start over (the old settings are backed up)." });
  }
  if (input.force) fs.rmSync(path.join(dir, "tokens"), { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const softhsmConf = writeSoftHsmConf(dir);
  // softhsm2-util and the PKCS#11 library below read the token directory from SOFTHSM2_CONF.
  input.env.SOFTHSM2_CONF = softhsmConf;
  process.env.SOFTHSM2_CONF = softhsmConf;
  const pin = input.randomBytes(12).toString("hex");
  const soPin = input.randomBytes(12).toString("hex");
  await initSoftHsmToken(input.exec, input.tokenLabel, soPin, pin);
  writeFileAtomic(path.join(dir, "so-pin"), `${soPin}\n`, { secret: true, backup: false });
  await createAesKey(SOFTHSM_MODULE, input.tokenLabel, pin, input.keyId);
  const tls = await createSelfSignedTls(input.exec, path.join(dir, "tls"), ["localhost"], ["127.0.0.1"]);
  const cred = newCredential(input.randomBytes);
  const text = renderSettings({
    ip: "127.0.0.1",
    port: input.port,
    port_http_ping: input.pingPort,
    region: input.region,
    is_tls_enabled: true,
    tls_cert_pem: tls.cert,
    tls_key_pem: tls.key,
    uri_path_prefix: input.prefix,
    sigv4_access_key_id: cred.accessKeyId,
    sigv4_secret_access_key: cred.secretAccessKey,
    xks_key_id_set: [input.keyId],
    session_pool_max_size: 16,
    user_pin: pin,
    PKCS11_HSM_MODULE: SOFTHSM_MODULE,
    token_label: input.tokenLabel,
    can_generate_iv: false,
    is_zero_iv_required: false,
  });
  writeFileAtomic(settingsFile, text, { secret: true });
  const result = { dir, settingsFile, softhsmConf, tokenLabel: input.tokenLabel, keyId: input.keyId, accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey, certFile: tls.cert, port: input.port, prefix: input.prefix, region: input.region };
  // The example holds the secret: 0600 like the settings, for the quickstart to show again.
  writeFileAtomic(path.join(dir, "curl-example.sh"), `#!/bin/sh\n${exampleCurl(result)}\n`, { secret: true, backup: false });
  return result;
}

/** A curl --aws-sigv4 Encrypt call against the new key store, as KMS would sign it. */
export function exampleCurl(r: SoftHsmInitResult): string {
  const body = JSON.stringify({
    requestMetadata: { awsPrincipalArn: "arn:aws:iam::111122223333:user/admin", kmsKeyArn: "arn:aws:kms:us-east-1:111122223333:key/demo", kmsOperation: "Encrypt", kmsRequestId: "quickstart-1" },
    plaintext: Buffer.from("Hello, XKS!").toString("base64"),
    encryptionAlgorithm: "AES_GCM",
  });
  return [
    `curl -sS --cacert ${r.certFile} \\`,
    `  --aws-sigv4 "aws:amz:${r.region}:kms-xks-proxy" --user "${r.accessKeyId}:${r.secretAccessKey}" \\`,
    `  -H 'content-type: application/json' \\`,
    `  --data '${body}' \\`,
    `  https://localhost:${r.port}${r.prefix}/kms/xks/v1/keys/${r.keyId}/encrypt`,
  ].join("\n");
}
