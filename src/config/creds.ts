/**
 * `creds generate`: a new SigV4 credential for one key store, by KMS's formats (xks-api.md
 * §8.1), written into the settings (or the store's secret file) and optionally into the JSON
 * file the KMS console accepts. The secret is returned once for display and never logged.
 */
import fs from "node:fs";
import path from "node:path";
import { XksctlError } from "../errors.js";
import { writeFileAtomic } from "./atomic-write.js";
import { defaultValidateDeps } from "./load.js";
import { ACCESS_KEY_ID_RE, SECRET_RE, URI_PATH_RE } from "./schema.js";
import { saveSettingsEdits } from "./settings-file.js";
import { readSettingsDocument } from "./load.js";
import { selectStore } from "./stores.js";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding (the alphabet is exactly KMS's A-Z2-7). */
export function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** A fresh credential: 26-character access key id (128 random bits), 44-character secret (256 bits). */
export function newCredential(randomBytes: (n: number) => Buffer): { accessKeyId: string; secretAccessKey: string } {
  const accessKeyId = base32(randomBytes(16));
  const secretAccessKey = randomBytes(32).toString("base64");
  if (!ACCESS_KEY_ID_RE.test(accessKeyId) || !SECRET_RE.test(secretAccessKey)) throw new Error("credential generator produced an invalid format");
  return { accessKeyId, secretAccessKey };
}

/** The XksProxyUriPath KMS stores for a prefix. */
export function uriPathOf(prefix: string): string {
  return `${prefix}/kms/xks/v1`;
}

/** What `creds generate` does. */
export interface CredsInput {
  settingsFile: string;
  store?: string;
  /** Also write the KMS console's proxy configuration file here (mode 0600). */
  consoleJson?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  randomBytes: (n: number) => Buffer;
}

/** What was written. `secretAccessKey` is for the one-time display only. */
export interface CredsResult {
  store: { index: number; prefix: string };
  uriPath: string;
  accessKeyId: string;
  secretAccessKey: string;
  settingsFile: string;
  settingsBackup?: string;
  /** The store's sigv4_secret_access_key_file, when the secret went there. */
  secretFile?: string;
  consoleJson?: string;
  /** The settings file is readable by group or others while it holds the secret. */
  settingsModeWarning?: string;
}

/** Generates and stores a credential for one key store. */
export function generateCredentials(input: CredsInput): CredsResult {
  const settings = readSettingsDocument(input.settingsFile);
  const store = selectStore(settings.doc, input.store, settings.file);
  const uriPath = uriPathOf(store.prefix);
  if (!URI_PATH_RE.test(uriPath) || uriPath.length > 128) {
    throw new XksctlError("XKS_CONFIG_INVALID", `uri_path_prefix ${JSON.stringify(store.prefix)} does not give a valid XksProxyUriPath (${uriPath}).`);
  }
  const envName = store.raw.sigv4_secret_access_key_env;
  if (typeof envName === "string" && envName !== "") {
    throw new XksctlError("XKS_SECRET_SOURCE", `Key store ${JSON.stringify(store.prefix)} reads its secret from the environment variable ${envName}, which xksctl cannot change.`, {
      remedy: `Remove sigv4_secret_access_key_env from that store so xksctl can write the secret, or rotate the variable yourself.`,
    });
  }
  const consoleJson = input.consoleJson ? path.resolve(input.cwd, input.consoleJson) : undefined;
  if (consoleJson) {
    try {
      fs.accessSync(path.dirname(consoleJson), fs.constants.W_OK);
    } catch {
      throw new XksctlError("XKS_FILE_WRITE", `Cannot write ${consoleJson}: its directory is missing or not writable; nothing was changed.`);
    }
  }
  const cred = newCredential(input.randomBytes);
  const at = { table: "external_key_stores", index: store.index };
  const fileName = store.raw.sigv4_secret_access_key_file;
  let secretFile: string | undefined;
  let secretBackup: string | undefined;
  if (typeof fileName === "string" && fileName !== "") {
    secretFile = path.resolve(input.cwd, fileName);
    secretBackup = writeFileAtomic(secretFile, `${cred.secretAccessKey}\n`, { secret: true }).backup;
  }
  let saved;
  try {
    saved = saveSettingsEdits(
      settings,
      [
        { op: "set", at, key: "sigv4_access_key_id", value: cred.accessKeyId },
        ...(secretFile ? [] : [{ op: "set" as const, at, key: "sigv4_secret_access_key", value: cred.secretAccessKey }]),
      ],
      defaultValidateDeps(input.env),
    );
  } catch (err) {
    if (secretFile && secretBackup) fs.renameSync(secretBackup, secretFile); // keep secret and key id in step
    throw err;
  }
  if (consoleJson) {
    const body = { XksProxyUriPath: uriPath, XksProxyAuthenticationCredential: { AccessKeyId: cred.accessKeyId, RawSecretAccessKey: cred.secretAccessKey } };
    try {
      writeFileAtomic(consoleJson, `${JSON.stringify(body, null, 2)}\n`, { secret: true });
    } catch (err) {
      throw new XksctlError("XKS_FILE_WRITE", `The new credential is in ${saved.file}, but ${consoleJson} could not be written.`, {
        remedy: "Copy the access key id and secret from the settings file into the KMS console by hand.",
        cause: err,
      });
    }
  }
  const mode = fs.statSync(saved.file).mode & 0o077;
  return {
    store: { index: store.index, prefix: store.prefix },
    uriPath,
    ...cred,
    settingsFile: saved.file,
    ...(saved.backup ? { settingsBackup: saved.backup } : {}),
    ...(secretFile ? { secretFile } : {}),
    ...(consoleJson ? { consoleJson } : {}),
    ...(!secretFile && mode !== 0 ? { settingsModeWarning: `${saved.file} holds the secret and is readable by group or others (mode ${(fs.statSync(saved.file).mode & 0o777).toString(8)}); run chmod 600 on it` } : {}),
  };
}
