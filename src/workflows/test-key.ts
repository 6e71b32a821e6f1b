/** `keys test`: one AES-GCM encrypt/decrypt round trip with a named key, inside the HSM. */
import { XksctlError, isXksctlError } from "../../errors.js";
import { isHsmError } from "../pkcs11/hsm-error.js";
import type { Hsm } from "../types.js";

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
