/** `keys test`: one AES-GCM encrypt/decrypt round trip with a named key, inside the HSM. */
import type { Settings } from "../config/types.js";
import { XksctlError, isXksctlError } from "../errors.js";
import { isHsmError, type Hsm } from "../hsm/types.js";
import { xksKeyProblem } from "../rules.js";
import type { OperatorDeps } from "./deps.js";

/** What the round trip showed. */
export interface RoundTripResult {
  keyId: string;
  keySpec: string;
  keyUsage: string[];
  plaintextBytes: number;
  encryptMs: number;
  decryptMs: number;
}

/** Turns an HSM failure into the admin-facing error. */
export function hsmFailure(err: unknown, keyId: string, step: string): XksctlError {
  if (isXksctlError(err)) return err;
  if (isHsmError(err) && err.kind === "key-not-found") {
    return new XksctlError("XKS_KEY_NOT_FOUND", `No AES key labelled ${JSON.stringify(keyId)} on the token.`);
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new XksctlError("XKS_HSM_OPERATION", `${step} with key ${JSON.stringify(keyId)} failed: ${detail}`, { cause: err });
}

/** Encrypts random bytes with the key, decrypts them and compares; throws on any difference. */
export async function roundTripKey(hsm: Hsm, keyId: string, randomBytes: (n: number) => Buffer, now: () => number): Promise<RoundTripResult> {
  let info;
  try {
    info = await hsm.keyMetadata(keyId);
  } catch (err) {
    throw hsmFailure(err, keyId, "Reading the key's attributes");
  }
  const plaintext = randomBytes(32);
  const aad = Buffer.from(`xksctl keys test ${keyId}`);
  const t0 = now();
  let enc;
  try {
    enc = await hsm.encrypt(keyId, plaintext, aad);
  } catch (err) {
    throw hsmFailure(err, keyId, "AES-GCM encrypt");
  }
  const t1 = now();
  let back: Buffer;
  try {
    back = await hsm.decrypt(keyId, enc.ciphertext, enc.iv, enc.tag, aad);
  } catch (err) {
    throw hsmFailure(err, keyId, "AES-GCM decrypt");
  }
  const t2 = now();
  if (!back.equals(plaintext)) {
    throw new XksctlError("XKS_HSM_OPERATION", `Round trip with key ${JSON.stringify(keyId)} returned different bytes than were encrypted.`);
  }
  return { keyId, keySpec: info.keySpec, keyUsage: info.keyUsage, plaintextBytes: plaintext.length, encryptMs: t1 - t0, decryptMs: t2 - t1 };
}

/** What `keys test` reports: the round trip, the stores listing the key, and why KMS could not use it. */
export interface KeyTestReport {
  result: RoundTripResult;
  stores: string[];
  problems: string[];
  /** The key itself can serve XKS (a missing store entry is only a warning). */
  ok: boolean;
}

/** Opens the HSM of the settings, runs the round trip with `keyId`, closes the HSM, judges the key. */
export async function testKey(deps: Pick<OperatorDeps, "openHsm" | "randomBytes">, settings: Settings, keyId: string, now: () => number): Promise<KeyTestReport> {
  const hsm = await deps.openHsm(settings);
  let result;
  try {
    result = await roundTripKey(hsm, keyId, deps.randomBytes, now);
  } finally {
    await hsm.close();
  }
  const stores = settings.external_key_stores.filter((s) => s.xks_key_id_set.includes(keyId)).map((s) => s.uri_path_prefix);
  const keyProblem = xksKeyProblem(result);
  const problems = [...(keyProblem ? [keyProblem] : []), ...(stores.length === 0 ? ["no key store lists it (xks_key_id_set); KMS cannot use it yet"] : [])];
  return { result, stores, problems, ok: keyProblem === null };
}
