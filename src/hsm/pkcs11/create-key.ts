/**
 * Creates an AES-256 token key for XKS directly over PKCS#11 (SoftHSM and other generic tokens;
 * on nShield use `xksctl keys create`, which runs generatekey so the key gets its protection).
 */
import { XksctlError } from "../../errors.js";
import { aesKeyTemplate } from "./aes-key-template.js";
import { findSecretKeys } from "./find-keys.js";
import { describeFailure } from "./ckr.js";
import { loadLibrary, login, openSession } from "./library.js";
import { CKM_AES_KEY_GEN } from "./native.js";

/** Generates a non-extractable AES-256 key labelled `label`; refuses a label already in use. */
export async function createAesKey(modulePath: string, tokenLabel: string, pin: string, label: string): Promise<void> {
  const { lib, slot } = await loadLibrary(modulePath, tokenLabel, { threads: 2 });
  try {
    const s = await openSession(lib, slot);
    try {
      await login(lib, s, pin);
      const existing = await findSecretKeys(lib, s, { label, tokenOnly: false, max: 1 });
      if (existing.length > 0) throw new XksctlError("XKS_KEY_EXISTS", `A key labelled ${JSON.stringify(label)} already exists on token ${JSON.stringify(tokenLabel)}.`);
      try {
        await lib.generateKey(s, CKM_AES_KEY_GEN, aesKeyTemplate(label, true));
      } catch (err) {
        throw new XksctlError("XKS_HSM_KEYGEN", `C_GenerateKey refused the AES-256 key ${JSON.stringify(label)}: ${describeFailure(err)}`, { cause: err });
      }
    } finally {
      await lib.closeSession(s).catch(() => undefined);
    }
  } finally {
    await lib.finalize().catch(() => undefined);
  }
}
