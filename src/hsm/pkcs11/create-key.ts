/**
 * Creates an AES-256 token key for XKS directly over PKCS#11 (SoftHSM and other generic tokens;
 * on nShield use `xksctl keys create`, which runs generatekey so the key gets its protection).
 */
import pkcs11js from "pkcs11js";
import { aesKeyTemplate } from "./aes-key-template.js";
import { findSecretKeys } from "./find-keys.js";
import { XksctlError } from "../../errors.js";
import { CKR, ckrName } from "./ckr.js";
import { loadLibrary } from "./library.js";

/** Generates a non-extractable AES-256 key labelled `label`; refuses a label already in use. */
export function createAesKey(modulePath: string, tokenLabel: string, pin: string, label: string): void {
  const { p, slot } = loadLibrary(modulePath, tokenLabel);
  try {
    const s = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      p.C_Login(s, pkcs11js.CKU_USER, pin);
    } catch (err) {
      const code = (err as { code?: number }).code ?? -1;
      if (code !== CKR.USER_ALREADY_LOGGED_IN) throw new XksctlError("XKS_HSM_LOGIN", `C_Login refused the user PIN: ${ckrName(code)}`);
    }
    const existing = findSecretKeys(p, s, { label, tokenOnly: false, max: 1 });
    if (existing.length > 0) throw new XksctlError("XKS_KEY_EXISTS", `A key labelled ${JSON.stringify(label)} already exists on token ${JSON.stringify(tokenLabel)}.`);
    p.C_GenerateKey(s, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, aesKeyTemplate(label, true));
    p.C_CloseSession(s);
  } finally {
    p.C_Finalize();
  }
}
