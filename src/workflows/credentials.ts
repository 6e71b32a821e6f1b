/**
 * SigV4 credentials of a key store (KMS formats, CSPRNG), as an admin manages them:
 * - `creds generate`: replace the store's credential (first setup), written to the settings (or
 *   the store's secret file) and optionally to the KMS console's proxy configuration file;
 * - `creds rotate`: add a new credential next to the current one (sigv4_additional_credentials),
 *   so the proxy accepts both while KMS is switched over; the KMS console file, the AWS CLI
 *   credential file and the exact `aws kms update-custom-key-store` command;
 * - `creds retire`: remove one credential (the old one, once KMS signs with the new one).
 * Secrets go where the store keeps them (inline, or a `*_file` next to the current one); every
 * file written that holds a secret ends mode 0600, its backup too.
 */
import fs from "node:fs";
import path from "node:path";
import { newCredential } from "../config/creds.js";
import { defaultValidateDeps, readSettingsDocument } from "../config/load.js";
import { isCredentialsPath, resolveSettingsPath } from "../config/paths.js";
import type { InlineTable, SettingsEdit } from "../config/settings-edit.js";
import { saveSettingsEdits } from "../config/settings-file.js";
import { selectStore, storeUriPath, type RawStore } from "../config/stores.js";
import { XksctlError } from "../errors.js";
import { writeFileAtomic } from "../platform/atomic-write.js";
import { ACCESS_KEY_ID_RE, isUsableAccessKeyId } from "../rules.js";
import { updateCredentialCommand } from "./aws-steps.js";

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
}

/** Generates and stores a credential for one key store. */
export function generateCredentials(input: CredsInput): CredsResult {
  const settings = readSettingsDocument(input.settingsFile);
  const store = selectStore(settings.doc, input.store, settings.file);
  const uriPath = storeUriPath(store);
  refuseEnvSource(store);
  const consoleJson = input.consoleJson ? path.resolve(input.cwd, input.consoleJson) : undefined;
  if (consoleJson) assertWritableDir(consoleJson);
  const fileName = store.raw.sigv4_secret_access_key_file;
  const secretFile = typeof fileName === "string" && fileName !== "" ? writableSecretFile(fileName, store, settings.file, input.env) : undefined;
  const cred = newCredential(input.randomBytes);
  const at = { table: "external_key_stores", index: store.index };
  let secretBackup: string | undefined;
  if (secretFile) secretBackup = writeFileAtomic(secretFile, `${cred.secretAccessKey}\n`, { secret: true }).backup;
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
  if (consoleJson) writeAfterSave(consoleJson, consoleConfigText(uriPath, cred), saved.file);
  return {
    store: { index: store.index, prefix: store.prefix },
    uriPath,
    ...cred,
    settingsFile: saved.file,
    ...(saved.backup ? { settingsBackup: saved.backup } : {}),
    ...(secretFile ? { secretFile } : {}),
    ...(consoleJson ? { consoleJson } : {}),
  };
}

/** The KMS console's proxy configuration file (upload it when creating or editing the key store). */
export function consoleConfigText(uriPath: string, cred: { accessKeyId: string; secretAccessKey: string }): string {
  return `${JSON.stringify({ XksProxyUriPath: uriPath, XksProxyAuthenticationCredential: { AccessKeyId: cred.accessKeyId, RawSecretAccessKey: cred.secretAccessKey } }, null, 2)}\n`;
}

/** The AWS CLI's XksProxyAuthenticationCredential, for `--xks-proxy-authentication-credential file://...`. */
function cliCredentialText(cred: { accessKeyId: string; secretAccessKey: string }): string {
  return `${JSON.stringify({ AccessKeyId: cred.accessKeyId, RawSecretAccessKey: cred.secretAccessKey })}\n`;
}

function assertWritableDir(file: string): void {
  try {
    fs.accessSync(path.dirname(file), fs.constants.W_OK);
  } catch {
    throw new XksctlError("XKS_FILE_WRITE", `Cannot write ${file}: its directory is missing or not writable; nothing was changed.`);
  }
}

/** Writes a secret file once the settings are saved; a failure names what is already done. */
function writeAfterSave(file: string, text: string, settingsFile: string): void {
  try {
    writeFileAtomic(file, text, { secret: true });
  } catch (err) {
    throw new XksctlError("XKS_FILE_WRITE", `The new credential is in ${settingsFile}, but ${file} could not be written.`, {
      remedy: "Copy the access key id and secret shown above into the KMS console or the AWS CLI by hand.",
      cause: err,
    });
  }
}

/** The store's secret file as xksctl may write it: resolved like serve does; a systemd credential is refused. */
function writableSecretFile(value: string, store: RawStore, settingsFile: string, env: NodeJS.ProcessEnv): string {
  if (isCredentialsPath(value)) {
    throw new XksctlError("XKS_SECRET_SOURCE", `Key store ${JSON.stringify(store.prefix)} reads its secret from the systemd credential ${value}, a read-only copy made when the service starts; xksctl cannot change it.`, {
      remedy: "Point sigv4_secret_access_key_file at the file that the unit's LoadCredential= line names while you run xksctl (or run it with --config on a copy of the settings), then restart the service.",
    });
  }
  const r = resolveSettingsPath(value, settingsFile, env);
  if (!r.ok) throw new XksctlError("XKS_SECRET_SOURCE", `sigv4_secret_access_key_file ${JSON.stringify(value)}: ${r.reason}.`);
  return r.path;
}

/** Refuses a store whose secret comes from an environment variable. */
function refuseEnvSource(store: RawStore): void {
  const envName = store.raw.sigv4_secret_access_key_env;
  if (typeof envName === "string" && envName !== "") {
    throw new XksctlError("XKS_SECRET_SOURCE", `Key store ${JSON.stringify(store.prefix)} reads its secret from the environment variable ${envName}, which xksctl cannot change.`, {
      remedy: `Keep the secrets in the settings (mode 0600) or in a sigv4_secret_access_key_file, or change the variable yourself.`,
    });
  }
}

/** How to make a running proxy re-read the settings. */
const RELOAD_COMMANDS = ["systemctl reload xksctl", "kill -HUP <pid of xksctl serve>"] as const;

/** One credential of a store as written in the file. */
interface StoredCredential {
  accessKeyId: string;
  /** Where the secret is: exactly one of these keys, as written. */
  source: InlineTable;
}

/** The keys that can hold a credential's secret, in the order they are looked for. */
const SECRET_SOURCE_KEYS = ["sigv4_secret_access_key_file", "sigv4_secret_access_key_env", "sigv4_secret_access_key"] as const;

function sourceOf(raw: Record<string, unknown>): InlineTable {
  for (const k of SECRET_SOURCE_KEYS) {
    const v = raw[k];
    if (typeof v === "string" && v !== "") return { [k]: v };
  }
  return {};
}

function additionalOf(store: RawStore): StoredCredential[] {
  const list = store.raw.sigv4_additional_credentials;
  if (!Array.isArray(list)) return [];
  return list.map((c) => {
    const r = (c ?? {}) as Record<string, unknown>;
    return { accessKeyId: typeof r.sigv4_access_key_id === "string" ? r.sigv4_access_key_id : "", source: sourceOf(r) };
  });
}

const asTable = (c: StoredCredential): InlineTable => ({ sigv4_access_key_id: c.accessKeyId, ...c.source });

/** What `creds rotate` does. */
export interface RotateInput extends CredsInput {
  /** The KMS console's proxy configuration file. @default kms-proxy-config.json next to the settings */
  consoleJson?: string;
  /** The AWS CLI credential file. @default kms-xks-credential.json next to the settings */
  credentialJson?: string;
  /** The custom key store id (cks-...) for the printed command. */
  keyStoreId?: string;
}

/** What `creds rotate` wrote. `secretAccessKey` is for the one-time display only. */
export interface RotateResult {
  store: { index: number; prefix: string };
  uriPath: string;
  /** The credential KMS signs with now (kept, still accepted). */
  currentAccessKeyId: string;
  accessKeyId: string;
  secretAccessKey: string;
  settingsFile: string;
  settingsBackup?: string;
  /** The new credential's sigv4_secret_access_key_file, when the store keeps secrets in files. */
  secretFile?: string;
  consoleJson: string;
  credentialJson: string;
  /** The exact AWS CLI command that gives KMS the new credential. */
  updateCommand: string;
  reload: readonly string[];
}

/** The region for the printed AWS command: [server].region. */
function regionOf(doc: Record<string, unknown>): string | undefined {
  const r = (doc.server as Record<string, unknown> | undefined)?.region;
  return typeof r === "string" && r !== "" ? r : undefined;
}

/** Adds a new credential next to the current one. */
export function rotateCredentials(input: RotateInput): RotateResult {
  const settings = readSettingsDocument(input.settingsFile);
  const store = selectStore(settings.doc, input.store, settings.file);
  const uriPath = storeUriPath(store);
  const current = store.raw.sigv4_access_key_id;
  if (!isUsableAccessKeyId(current)) {
    throw new XksctlError("XKS_CONFIG_INVALID", `Key store ${JSON.stringify(store.prefix)} has no credential to rotate (sigv4_access_key_id ${JSON.stringify(current ?? null)}).`, {
      remedy: "Run `xksctl creds generate` for the first credential; rotate replaces a credential KMS already uses.",
    });
  }
  const extra = additionalOf(store);
  if (extra.length > 0) {
    throw new XksctlError("XKS_CONFIG_INVALID", `Key store ${JSON.stringify(store.prefix)} is already rotating: it accepts ${[current, ...extra.map((c) => c.accessKeyId)].join(" and ")}.`, {
      remedy: `Finish that rotation first: once KMS signs with the new credential, \`xksctl creds retire --access-key-id ${current} --config ${settings.file}\`.`,
    });
  }
  refuseEnvSource(store);
  const dir = path.dirname(settings.file);
  const consoleJson = path.resolve(input.cwd, input.consoleJson ?? path.join(dir, "kms-proxy-config.json"));
  const credentialJson = path.resolve(input.cwd, input.credentialJson ?? path.join(dir, "kms-xks-credential.json"));
  if (consoleJson === credentialJson) throw new XksctlError("XKS_USAGE", `--console-json and --credential-json name the same file ${consoleJson}.`);
  assertWritableDir(consoleJson);
  assertWritableDir(credentialJson);

  // A store that keeps its secret in a file gets the new one next to it, named after the new
  // access key id (a previous id dropped); the current file's name is checked first.
  const mainFile = store.raw.sigv4_secret_access_key_file;
  let secretBase: string | undefined;
  if (typeof mainFile === "string" && mainFile !== "") {
    writableSecretFile(mainFile, store, settings.file, input.env);
    secretBase = withoutKeyIdSuffix(mainFile);
  }
  const cred = newCredential(input.randomBytes);
  const secretValue = secretBase === undefined ? undefined : `${secretBase}.${cred.accessKeyId}`;
  let secretFile: string | undefined;
  if (secretValue !== undefined) {
    secretFile = writableSecretFile(secretValue, store, settings.file, input.env);
    if (fs.existsSync(secretFile)) throw new XksctlError("XKS_FILE_WRITE", `${secretFile} already exists; nothing was changed.`, { remedy: "Run the command again (a new access key id names a new file)." });
    writeFileAtomic(secretFile, `${cred.secretAccessKey}\n`, { secret: true, backup: false });
  }
  const entry: InlineTable = { sigv4_access_key_id: cred.accessKeyId, ...(secretValue !== undefined ? { sigv4_secret_access_key_file: secretValue } : { sigv4_secret_access_key: cred.secretAccessKey }) };
  const at = { table: "external_key_stores", index: store.index };
  let saved;
  try {
    saved = saveSettingsEdits(settings, [{ op: "delete", at, key: "sigv4_additional_credentials" }, { op: "set", at, key: "sigv4_additional_credentials", value: [entry] }], defaultValidateDeps(input.env));
  } catch (err) {
    if (secretFile) fs.rmSync(secretFile, { force: true });
    throw err;
  }
  writeAfterSave(consoleJson, consoleConfigText(uriPath, cred), saved.file);
  writeAfterSave(credentialJson, cliCredentialText(cred), saved.file);
  return {
    store: { index: store.index, prefix: store.prefix },
    uriPath,
    currentAccessKeyId: current,
    ...cred,
    settingsFile: saved.file,
    ...(saved.backup ? { settingsBackup: saved.backup } : {}),
    ...(secretFile ? { secretFile } : {}),
    consoleJson,
    credentialJson,
    updateCommand: updateCredentialCommand({ region: regionOf(settings.doc), keyStoreId: input.keyStoreId, credentialFile: credentialJson }),
    reload: RELOAD_COMMANDS,
  };
}

/** A secret file's name without a trailing ".<access key id>" (the suffix rotate gives a new credential's file). */
function withoutKeyIdSuffix(file: string): string {
  const dot = file.lastIndexOf(".");
  return dot >= 0 && ACCESS_KEY_ID_RE.test(file.slice(dot + 1)) ? file.slice(0, dot) : file;
}

/** What `creds retire` does. */
export interface RetireInput {
  settingsFile: string;
  store?: string;
  accessKeyId: string;
  env: NodeJS.ProcessEnv;
}

/** What `creds retire` changed. */
export interface RetireResult {
  store: { index: number; prefix: string };
  retired: string;
  /** The credentials the store accepts after the change, main first. */
  remaining: string[];
  settingsFile: string;
  settingsBackup?: string;
  /** A secret file of the retired credential that is no longer named by the settings (delete it). */
  orphanedSecretFile?: string;
  reload: readonly string[];
}

/** Removes one credential of a store; the store keeps at least one. */
export function retireCredential(input: RetireInput): RetireResult {
  const settings = readSettingsDocument(input.settingsFile);
  const store = selectStore(settings.doc, input.store, settings.file);
  const main: StoredCredential = { accessKeyId: typeof store.raw.sigv4_access_key_id === "string" ? store.raw.sigv4_access_key_id : "", source: sourceOf(store.raw) };
  const extra = additionalOf(store);
  const all = [main, ...extra];
  const hit = all.findIndex((c) => c.accessKeyId === input.accessKeyId);
  if (hit < 0) {
    throw new XksctlError("XKS_USAGE", `Key store ${JSON.stringify(store.prefix)} has no credential with access key id ${JSON.stringify(input.accessKeyId)} (it accepts ${all.map((c) => c.accessKeyId || "(none)").join(", ")}).`, {
      remedy: "Pass --access-key-id with one of the ids listed (and --store for another key store).",
    });
  }
  if (all.length === 1) {
    throw new XksctlError("XKS_CONFIG_INVALID", `${input.accessKeyId} is the only credential of key store ${JSON.stringify(store.prefix)}; retiring it would lock KMS out.`, {
      remedy: "Run `xksctl creds rotate` first, give KMS the new credential, then retire this one.",
    });
  }
  const at = { table: "external_key_stores", index: store.index };
  const edits: SettingsEdit[] = [];
  let rest: StoredCredential[];
  if (hit === 0) {
    // The main credential goes: the first additional one takes its place.
    const [next, ...others] = extra as [StoredCredential, ...StoredCredential[]];
    edits.push({ op: "set", at, key: "sigv4_access_key_id", value: next.accessKeyId });
    for (const k of SECRET_SOURCE_KEYS) {
      const v = next.source[k];
      edits.push(v !== undefined ? { op: "set", at, key: k, value: v } : { op: "delete", at, key: k });
    }
    rest = others;
  } else {
    rest = extra.filter((_, j) => j !== hit - 1);
  }
  edits.push({ op: "delete", at, key: "sigv4_additional_credentials" });
  if (rest.length > 0) edits.push({ op: "set", at, key: "sigv4_additional_credentials", value: rest.map(asTable) });
  const saved = saveSettingsEdits(settings, edits, defaultValidateDeps(input.env));
  const retiredFile = all[hit]!.source.sigv4_secret_access_key_file;
  let orphanedSecretFile: string | undefined;
  if (typeof retiredFile === "string" && !isCredentialsPath(retiredFile)) {
    const r = resolveSettingsPath(retiredFile, settings.file, input.env);
    if (r.ok && fs.existsSync(r.path)) orphanedSecretFile = r.path;
  }
  const remaining = (hit === 0 ? extra : [main, ...rest]).map((c) => c.accessKeyId);
  return {
    store: { index: store.index, prefix: store.prefix },
    retired: input.accessKeyId,
    remaining,
    settingsFile: saved.file,
    ...(saved.backup ? { settingsBackup: saved.backup } : {}),
    ...(orphanedSecretFile ? { orphanedSecretFile } : {}),
    reload: RELOAD_COMMANDS,
  };
}
