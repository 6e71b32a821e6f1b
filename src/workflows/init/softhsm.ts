/**
 * `xksctl init --backend softhsm`: the same flow on a project-local SoftHSM2 token, for
 * development and the quickstart: token and AES-256 key, TLS (self-signed for localhost by
 * default, or a CSR, or existing files), SigV4 credential, settings that name the token's
 * softhsm2.conf (so `xksctl serve --config DIR/settings.toml` needs no environment), and a
 * signed curl call.
 */
import fs from "node:fs";
import path from "node:path";
import { newCredential } from "../../config/creds.js";
import { XksctlError } from "../../errors.js";
import { createAesKey } from "../../hsm/pkcs11/create-key.js";
import { SOFTHSM_MODULE, initSoftHsmToken, writeSoftHsmConf } from "../../hsm/softhsm.js";
import { ENDPOINT_RULE, endpointNameProblem } from "../../platform/x509.js";
import { assertKeyId, parsePort, parseRegion, uriPathOf } from "../../rules.js";
import { checkTlsFiles, csrPathFor, newKeyAndCsr, type KeyAndCsr } from "../tls-files.js";
import type { Answers } from "./answers.js";
import { askChoice, askText, type Dialog } from "./ask.js";
import { inspectExisting, type ExistingSetup } from "./existing.js";
import { answer, chooseExistingAction, confirmPlan, declined, dialogOf, keepExisting, parsePrefixAnswer, type InitDeps, type InitResult } from "./flow.js";
import { addExistingKey, roundTripWith } from "./keys.js";
import { selfSignedPair } from "./tls.js";
import { plannedFile, writePlannedFiles, type InitPlan, type PlannedFile } from "./plan.js";
import { renderInitSettings, settingsFromText } from "./settings-text.js";

/** Where the key store lives unless --dir says otherwise (relative to the working directory). */
const SOFTHSM_DEFAULT_DIR = ".xksctl";

/** A signed curl Encrypt call against the local key store, as KMS would sign it. */
function exampleCurl(r: { certFile?: string; region: string; accessKeyId: string; secretAccessKey: string; endpoint: string; port: number; prefix: string; keyId: string }): string {
  const body = JSON.stringify({
    requestMetadata: { awsPrincipalArn: "arn:aws:iam::111122223333:user/admin", kmsKeyArn: "arn:aws:kms:us-east-1:111122223333:key/demo", kmsOperation: "Encrypt", kmsRequestId: "quickstart-1" },
    plaintext: Buffer.from("Hello, XKS!").toString("base64"),
    encryptionAlgorithm: "AES_GCM",
  });
  return [
    `curl -sS ${r.certFile ? `--cacert ${r.certFile}` : ""} \\`,
    `  --aws-sigv4 "aws:amz:${r.region}:kms-xks-proxy" --user "${r.accessKeyId}:${r.secretAccessKey}" \\`,
    `  -H 'content-type: application/json' \\`,
    `  --data '${body}' \\`,
    `  https://${r.endpoint}:${r.port}${uriPathOf(r.prefix)}/keys/${r.keyId}/encrypt`,
  ].join("\n");
}

function parseLocalEndpoint(raw: string): string {
  const v = raw.trim().toLowerCase();
  if (v === "localhost" || endpointNameProblem(v) === null) return v;
  throw new XksctlError("XKS_USAGE", `--endpoint ${JSON.stringify(raw)} is not usable: ${endpointNameProblem(v)}.`, { remedy: `Give localhost or ${ENDPOINT_RULE}.` });
}

/** Runs init for a project-local SoftHSM2 token. */
export async function initSoftHsm(deps: InitDeps, a: Answers): Promise<InitResult> {
  const d: Dialog = dialogOf(deps, a);
  const dir = path.resolve(deps.cwd, answer(a, "dir") ?? SOFTHSM_DEFAULT_DIR);
  const settingsFile = path.join(dir, "settings.toml");
  let existing: ExistingSetup | undefined;
  if (fs.existsSync(settingsFile)) {
    existing = await inspectExisting(settingsFile, deps);
    deps.showExisting(existing);
    const action = await chooseExistingAction(d, existing);
    if (action === "keep") return keepExisting("softhsm", dir, existing, []);
    if (action === "add") return addSoftHsmKey(deps, d, existing, dir);
  }
  const ev = existing?.values;
  const tokenLabel = answer(a, "token-label") ?? ev?.tokenLabel ?? "xksctl-demo";
  const keyId = await askText(d, "key-id", { message: "External key id (label of the AES-256 key)", default: ev?.keyIds[0] ?? "demo-key", parse: (v) => (assertKeyId(v), v) });
  const prefix = await askText(d, "prefix", {
    message: 'URI path prefix ("none" for none)',
    default: ev?.prefix ?? "none",
    parse: parsePrefixAnswer,
  });
  const endpoint = await askText(d, "endpoint", { message: "Host name clients use", default: ev?.endpoint ?? "localhost", parse: parseLocalEndpoint });
  const port = await askText(d, "port", { message: "Port for the XKS API (HTTPS)", default: String(ev?.port ?? 8443), parse: (v) => parsePort(v, "--port") });
  const region = await askText(d, "region", {
    message: "AWS region (SigV4 credential scope)",
    default: ev?.region ?? "us-east-1",
    parse: (v) => parseRegion(v, "--region"),
  });
  const ip = answer(a, "ip") ?? "127.0.0.1";
  const pingPort = answer(a, "ping-port") !== undefined ? parsePort(answer(a, "ping-port")!, "--ping-port") : port + 1;
  const tlsMode =
    a["tls-cert"] !== undefined
      ? "existing"
      : await askChoice(d, "tls", {
          message: "TLS certificate",
          choices: [
            { value: "self-signed", name: "self-signed for this machine", description: `for ${endpoint} and 127.0.0.1; curl and tests trust it with --cacert` },
            { value: "csr", name: "new private key and CSR", description: "for a CA; the proxy starts after `xksctl tls install`" },
            { value: "existing", name: "existing chain and key", description: "PEM files you have" },
          ],
          default: "self-signed",
        });
  const tlsDir = path.join(dir, "tls");
  let certFile = path.join(tlsDir, "cert.pem");
  let keyFile = path.join(tlsDir, "key.pem");
  let csrFile: string | undefined;
  const warnings: string[] = [];
  if (tlsMode === "existing") {
    certFile = await askText(d, "tls-cert", { message: "Certificate chain file (PEM)", parse: (v) => path.resolve(deps.cwd, v) });
    keyFile = await askText(d, "tls-key", { message: "Its private key file (PEM)", parse: (v) => path.resolve(deps.cwd, v) });
    const r = checkTlsFiles(certFile, keyFile, { ...(endpoint === "localhost" ? {} : { endpoint }), now: new Date(deps.now()) });
    const fails = r.problems.filter((p) => p.severity === "fail" && p.code !== "chain-incomplete");
    if (fails.length > 0) throw new XksctlError("XKS_TLS_FILES", `${certFile} and ${keyFile} do not fit: ${fails.length} problem${fails.length === 1 ? "" : "s"}; nothing was written.`, { details: fails.map((p) => `${p.code}: ${p.message}`) });
    warnings.push(...r.problems.filter((p) => !fails.includes(p)).map((p) => p.message));
  } else if (tlsMode === "csr") {
    if (endpointNameProblem(endpoint) !== null) throw new XksctlError("XKS_USAGE", `A CSR needs a DNS name a CA can certify, not ${JSON.stringify(endpoint)}.`, { remedy: `Pass --endpoint with ${ENDPOINT_RULE}, or --tls self-signed.` });
    keyFile = path.join(tlsDir, "xks-proxy.key");
    certFile = path.join(tlsDir, "xks-proxy-chain.pem");
    csrFile = csrPathFor(keyFile);
  }

  const cred = newCredential(deps.randomBytes);
  const pin = deps.randomBytes(12).toString("hex");
  const soPin = deps.randomBytes(12).toString("hex");
  const conf = path.join(dir, "softhsm2.conf");
  const settingsText = renderInitSettings({
    ip,
    port,
    pingPort,
    region,
    tlsCert: certFile,
    tlsKey: keyFile,
    prefix,
    accessKeyId: cred.accessKeyId,
    secretAccessKey: cred.secretAccessKey,
    keyIds: [keyId],
    pin,
    pkcs11Module: SOFTHSM_MODULE,
    tokenLabel,
    hsmIv: false,
    softhsmConf: "softhsm2.conf",
  });
  let selfSigned: { cert: string; key: string } | undefined;
  let made: KeyAndCsr | undefined;
  const curl = () => exampleCurl({ ...(tlsMode === "self-signed" ? { certFile } : {}), region, accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey, endpoint, port, prefix, keyId });
  const files: PlannedFile[] = [plannedFile(path.join(dir, "so-pin"), "the token's Security Officer PIN", () => `${soPin}\n`, { secret: true })];
  if (tlsMode === "self-signed") {
    files.push(plannedFile(keyFile, "the TLS private key", () => selfSigned!.key, { secret: true }));
    files.push(plannedFile(certFile, `a self-signed certificate for ${endpoint} and 127.0.0.1`, () => selfSigned!.cert));
  } else if (tlsMode === "csr") {
    files.push(plannedFile(keyFile, "the TLS private key (new, EC P-256)", () => made!.keyPem, { secret: true }));
    files.push(plannedFile(csrFile!, `the certificate request for ${endpoint}`, () => made!.csrPem));
  }
  files.push(plannedFile(settingsFile, `the proxy settings (token ${tokenLabel}, key ${keyId}; the PIN inline)`, () => settingsText, { secret: true }));
  files.push(plannedFile(path.join(dir, "curl-example.sh"), "a signed curl Encrypt call (holds the SigV4 secret)", () => `#!/bin/sh\n${curl()}\n`, { secret: true }));
  const plan: InitPlan = {
    backend: "softhsm",
    dir,
    actions: [
      ...(existing ? [`remove the old token in ${path.join(dir, "tokens")}`] : []),
      `create the SoftHSM2 token ${tokenLabel} in ${path.join(dir, "tokens")} (${conf})`,
      `create the AES-256 key ${keyId} on it (non-extractable)`,
      `check ${keyId} with an AES-GCM round trip before writing the settings`,
    ],
    files,
    notes: ["a new SigV4 credential (shown once at the end; also in settings.toml)", ...warnings],
  };
  if (!(await confirmPlan(deps, d, plan))) return declined("softhsm", dir, settingsFile, []);

  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (existing) fs.rmSync(path.join(dir, "tokens"), { recursive: true, force: true });
  writeSoftHsmConf(dir);
  // softhsm2-util and the PKCS#11 library read the token directory from SOFTHSM2_CONF.
  process.env.SOFTHSM2_CONF = deps.env.SOFTHSM2_CONF = conf;
  await initSoftHsmToken(deps.exec, tokenLabel, soPin, pin);
  await createAesKey(SOFTHSM_MODULE, tokenLabel, pin, keyId);
  if (tlsMode === "self-signed") selfSigned = await selfSignedPair(deps.exec, [endpoint], ["127.0.0.1"]);
  if (tlsMode === "csr") made = await newKeyAndCsr(deps.exec, endpoint);
  await roundTripWith(deps, settingsFromText(settingsText, settingsFile, deps.env), keyId);
  const written = writePlannedFiles(files);
  return {
    backend: "softhsm",
    outcome: "written",
    dir,
    settingsFile,
    findings: [],
    actions: [`created the SoftHSM2 token ${tokenLabel} (${conf})`, `created the AES-256 key ${keyId}`, `checked ${keyId}: AES-GCM round trip`],
    files: written,
    keyIds: [keyId],
    tokenLabel,
    credential: { accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey, kept: false },
    tls: { mode: tlsMode, certFile, keyFile, ...(csrFile ? { csrFile } : {}), endpoint },
    ...(tlsMode === "self-signed" ? { curl: curl() } : {}),
    next: [
      ...(tlsMode === "csr" ? [`Send ${csrFile} to a CA, then: xksctl tls install CHAIN.pem --config ${settingsFile}`] : []),
      `Run the proxy (from any folder, no environment needed): xksctl serve --config ${settingsFile}`,
    ],
    warnings,
  };
}

/** "add a key" to a local key store: a new key on the token, or an unlisted one (round trip first). */
async function addSoftHsmKey(deps: InitDeps, d: Dialog, e: ExistingSetup, dir: string): Promise<InitResult> {
  if (!e.settings) throw new XksctlError("XKS_SETUP_EXISTS", `${e.settingsFile} is not valid, so no key can be added to it.`, { details: e.broken });
  const s = e.settings;
  const keyId = await askText(d, "key-id", {
    message: "Key id to add",
    parse: (v) => {
      assertKeyId(v);
      if (e.values.keyIds.includes(v)) throw new XksctlError("XKS_KEY_EXISTS", `${v} is already in the key store.`);
      return v;
    },
  });
  const create = d.answers["use-existing-key"] !== true;
  const plan: InitPlan = {
    backend: "softhsm",
    dir,
    actions: [create ? `create the AES-256 key ${keyId} on token ${s.pkcs11.token_label ?? "(first)"}` : `check ${keyId} with a round trip`],
    files: [{ path: e.settingsFile, what: `add ${keyId} to xks_key_id_set`, action: "update", secret: true, mode: 0o600, content: () => "" }],
    notes: [],
  };
  if (!(await confirmPlan(deps, d, plan))) return declined("softhsm", dir, e.settingsFile, []);
  if (create) await createAesKey(s.pkcs11.PKCS11_HSM_MODULE, s.pkcs11.token_label ?? "", s.pkcs11.user_pin, keyId);
  const r = await addExistingKey(deps, s, keyId);
  return {
    backend: "softhsm",
    outcome: "added",
    dir,
    settingsFile: e.settingsFile,
    findings: [],
    actions: [...(create ? [`created the AES-256 key ${keyId}`] : []), ...r.actions],
    files: r.files,
    keyIds: [...e.values.keyIds, keyId],
    next: ["Send SIGHUP to a running `xksctl serve` (or restart it) to serve the new key."],
    warnings: [],
  };
}
