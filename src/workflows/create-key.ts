/**
 * Creates an XKS key: checks the id, the world and that no key has that name, runs
 * `generatekey pkcs11` (plainname = key id = CKA_LABEL) and adds the id to a key store's
 * xks_key_id_set in the settings file.
 */
import fs from "node:fs";
import { defaultCknfastrcPath, effectiveCknfastVar, parseCknfastrc } from "../config/cknfastrc.js";
import { defaultValidateDeps } from "../config/load.js";
import { saveSettingsEdits } from "../config/settings-file.js";
import { readSettingsDocument } from "../config/load.js";
import { selectStore } from "../config/stores.js";
import { XksctlError, isXksctlError } from "../errors.js";
import type { Exec } from "../platform/exec.js";
import { generateKey } from "../hsm/nfast/generatekey.js";
import { listNamedKeys, modeNeedsCardForKeyGeneration, readWorld } from "../hsm/nfast/nfkminfo.js";
import { requireUsableWorld } from "../hsm/nfast/status.js";
import { assertKeyId } from "../rules.js";

/** What to create. */
export interface CreateKeyInput {
  keyId: string;
  protect: "module" | "ocs";
  /** OCS name; required with protect "ocs". */
  cardset?: string;
  /** Slot to read OCS cards from. @default 0 */
  slot?: number;
  /** uri_path_prefix of the store to add the id to (default: the only store). */
  store?: string;
  settingsFile: string;
  /** A terminal is attached: card/passphrase prompts of generatekey can be answered. */
  interactive: boolean;
  env: NodeJS.ProcessEnv;
}

/** What was created and changed. */
export interface CreateKeyResult {
  keyId: string;
  ident: string;
  keyFile: string;
  protection: "module" | "ocs";
  cardset?: string;
  store: { index: number; prefix: string };
  settingsFile: string;
  backup?: string;
  /** How a running proxy picks the key up. */
  pickup: { restartNeeded: boolean; how: string };
  warnings: string[];
}

/** Checks the flag combination; throws XKS_USAGE. */
function checkProtection(input: CreateKeyInput): void {
  if (input.protect !== "module" && input.protect !== "ocs") {
    throw new XksctlError("XKS_USAGE", `--protect must be module or ocs, got ${JSON.stringify(input.protect)}`);
  }
  if (input.protect === "ocs" && !input.cardset) throw new XksctlError("XKS_USAGE", "--protect ocs needs --cardset NAME (the Operator Card Set that protects the key)");
  if (input.protect === "module" && input.cardset) throw new XksctlError("XKS_USAGE", "--cardset only applies with --protect ocs");
}

/**
 * How a running `xksctl serve` sees the new key. SIGHUP reloads the key sets from the settings,
 * but libcknfast only shows keys made by another process when CKNFAST_ASSUME_SINGLE_PROCESS=0
 * (nshield-tools.md §0 item 7; the environment overrides cknfastrc, §9.1).
 */
export function pickupAdvice(env: NodeJS.ProcessEnv): { restartNeeded: boolean; how: string } {
  const rc = defaultCknfastrcPath(env);
  let vars = new Map<string, string>();
  try {
    vars = parseCknfastrc(fs.readFileSync(rc, "utf8"));
  } catch {
    /* no cknfastrc (or unreadable): the library default applies */
  }
  if (effectiveCknfastVar(vars, env, "CKNFAST_ASSUME_SINGLE_PROCESS") === "0") {
    return { restartNeeded: false, how: `Send SIGHUP to the running \`xksctl serve\` (or restart it): it reloads the key sets, and CKNFAST_ASSUME_SINGLE_PROCESS=0 lets it see keys made by other processes.` };
  }
  return {
    restartNeeded: true,
    how: `Restart the running \`xksctl serve\` (e.g. \`systemctl restart xksctl\`): with CKNFAST_ASSUME_SINGLE_PROCESS=1 (the default; ${rc}) the nShield library only sees keys that existed when the proxy started, so a SIGHUP reload is not enough.`,
  };
}

/** generatekey waits for cards on a terminal; allow ten minutes there, two without. */
const GENERATEKEY_TIMEOUT_MS = { interactive: 600_000, batch: 120_000 };

/** The HSM step: a new AES-256 key in the Security World (CKA_LABEL = key id); nothing else changes. */
export async function generateXksKey(
  exec: Exec,
  p: { keyId: string; protection: "module" | "ocs"; cardset?: string; slot?: number; interactive: boolean },
): Promise<{ keyFile: string; ident: string }> {
  const k = await generateKey(
    exec,
    {
      plainname: p.keyId,
      protect: p.protection === "ocs" ? "token" : "module",
      ...(p.cardset ? { cardset: p.cardset } : {}),
      ...(p.slot !== undefined ? { slot: p.slot } : {}),
    },
    { stdio: p.interactive ? "tee" : "pipe", timeoutMs: p.interactive ? GENERATEKEY_TIMEOUT_MS.interactive : GENERATEKEY_TIMEOUT_MS.batch },
  );
  return { keyFile: k.keyFile, ident: k.ident };
}

/** Creates the key in the HSM and lists it in the settings. */
export async function createXksKey(exec: Exec, input: CreateKeyInput): Promise<CreateKeyResult> {
  assertKeyId(input.keyId);
  checkProtection(input);
  const settings = readSettingsDocument(input.settingsFile);
  const store = selectStore(settings.doc, input.store, settings.file);
  const warnings: string[] = [];

  const world = await readWorld(exec);
  requireUsableWorld(world);
  if (modeNeedsCardForKeyGeneration(world.world.mode)) {
    warnings.push(`world mode ${world.world.mode}: generatekey asks for an Administrator or Operator Card to authorise the key`);
  }
  const existing = (await listNamedKeys(exec)).find((k) => k.name === input.keyId);
  if (existing) {
    throw new XksctlError("XKS_KEY_EXISTS", `A key named ${JSON.stringify(input.keyId)} already exists in the Security World (key_${existing.app}_${existing.ident}, ${existing.protection} protection).`);
  }

  const key = await generateXksKey(exec, {
    keyId: input.keyId,
    protection: input.protect,
    ...(input.cardset ? { cardset: input.cardset } : {}),
    ...(input.slot !== undefined ? { slot: input.slot } : {}),
    interactive: input.interactive,
  });

  let saved;
  try {
    saved = saveSettingsEdits(
      settings,
      [{ op: "append", at: { table: "external_key_stores", index: store.index }, key: "xks_key_id_set", value: input.keyId }],
      defaultValidateDeps(input.env),
    );
  } catch (err) {
    const why = isXksctlError(err) ? err.message : String((err as Error).message ?? err);
    throw new XksctlError("XKS_FILE_WRITE", `The key ${JSON.stringify(input.keyId)} was created (${key.keyFile}) but the settings were not updated: ${why}`, {
      remedy: `Add "${input.keyId}" to xks_key_id_set of the key store ${JSON.stringify(store.prefix)} in ${settings.file} by hand.`,
      cause: err,
    });
  }
  return {
    keyId: input.keyId,
    ident: key.ident,
    keyFile: key.keyFile,
    protection: input.protect,
    ...(input.cardset ? { cardset: input.cardset } : {}),
    store: { index: store.index, prefix: store.prefix },
    settingsFile: saved.file,
    ...(saved.backup ? { backup: saved.backup } : {}),
    pickup: pickupAdvice(input.env),
    warnings,
  };
}
