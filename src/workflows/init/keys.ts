/**
 * The key steps of init, built from the operator verbs: `keys create`'s workflow to add a new
 * key to a configured store, and `keys test`'s round trip. (A new setup's key is `keys create`'s
 * generatekey step alone, generateXksKey: the world check and the duplicate check ran when init
 * looked at the machine.)
 */
import { defaultValidateDeps, readSettingsDocument } from "../../config/load.js";
import { saveSettingsEdits } from "../../config/settings-file.js";
import type { Settings } from "../../config/types.js";
import { createXksKey, pickupAdvice } from "../create-key.js";
import { testKey, type RoundTripResult } from "../test-key.js";
import type { Exec } from "../../platform/exec.js";
import { XksctlError } from "../../errors.js";
import type { InitDeps } from "./flow.js";
import type { WrittenFile } from "./plan.js";

/**
 * The encrypt/decrypt round trip of `keys test`, with the HSM the settings describe; a key that
 * works but is not AES-256 with ENCRYPT and DECRYPT cannot serve KMS and is refused too.
 */
export async function roundTripWith(deps: Pick<InitDeps, "openHsm" | "randomBytes" | "now">, settings: Settings, keyId: string): Promise<RoundTripResult> {
  const report = await testKey(deps, settings, keyId, deps.now);
  // Not ok: the first problem is why the key cannot serve XKS.
  if (!report.ok) throw new XksctlError("XKS_HSM_OPERATION", `The key ${JSON.stringify(keyId)} cannot serve KMS: ${report.problems[0]}.`, { remedy: "Pick an AES-256 key that allows ENCRYPT and DECRYPT, or let init create one." });
  return report.result;
}

/** What adding a key to a configured store did. */
export interface AddedKey {
  actions: string[];
  files: WrittenFile[];
  /** How a running proxy picks the key up. */
  pickup: string;
}

/** A new key through the `keys create` workflow: generatekey, then xks_key_id_set in place. */
export async function addNewKey(exec: Exec, p: { keyId: string; protection: "module" | "ocs"; cardset?: string; settingsFile: string; interactive: boolean; env: NodeJS.ProcessEnv }): Promise<AddedKey> {
  const r = await createXksKey(exec, { keyId: p.keyId, protect: p.protection, ...(p.cardset ? { cardset: p.cardset, slot: 0 } : {}), settingsFile: p.settingsFile, interactive: p.interactive, env: p.env });
  return {
    actions: [`generated the AES-256 key ${r.keyId} (${r.keyFile})`, ...r.warnings],
    files: [{ path: r.settingsFile, what: `added ${r.keyId} to xks_key_id_set`, action: "update", mode: 0o600, ...(r.backup ? { backup: r.backup } : {}) }],
    pickup: r.pickup.how,
  };
}

/** An existing key: round trip first, then listed in xks_key_id_set in place. */
export async function addExistingKey(deps: Pick<InitDeps, "openHsm" | "randomBytes" | "now" | "env">, settings: Settings, keyId: string): Promise<AddedKey> {
  const rt = await roundTripWith(deps, settings, keyId);
  const doc = readSettingsDocument(settings.file);
  const saved = saveSettingsEdits(doc, [{ op: "append", at: { table: "external_key_stores", index: 0 }, key: "xks_key_id_set", value: keyId }], defaultValidateDeps(deps.env));
  return {
    actions: [`checked ${keyId}: AES-GCM round trip in the HSM (${rt.keySpec})`],
    files: [{ path: saved.file, what: `added ${keyId} to xks_key_id_set`, action: "update", mode: 0o600, ...(saved.backup ? { backup: saved.backup } : {}) }],
    pickup: pickupAdvice(deps.env).how,
  };
}
