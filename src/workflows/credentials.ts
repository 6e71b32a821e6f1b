/**
 * `creds generate`: a new SigV4 credential (KMS formats, CSPRNG) for one key store, written to the
 * settings (or the store's secret file) and optionally to the KMS console's proxy configuration file.
 */
import fs from "node:fs";
import path from "node:path";
import { newCredential } from "../config/creds.js";
import { defaultValidateDeps, readSettingsDocument } from "../config/load.js";
import { saveSettingsEdits } from "../config/settings-file.js";
import { selectStore } from "../config/stores.js";
import { XksctlError } from "../errors.js";
import { writeFileAtomic } from "../platform/atomic-write.js";
import { isValidUriPrefix, uriPathOf } from "../rules.js";

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
  if (!isValidUriPrefix(store.prefix)) {
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
