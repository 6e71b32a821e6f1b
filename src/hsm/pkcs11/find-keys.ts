/** Finds secret keys on a session: one C_FindObjectsInit / C_FindObjects / C_FindObjectsFinal. */
import pkcs11js from "pkcs11js";

/** Secret-key handles matching `label` (any label when absent), at most `max`; `tokenOnly` skips session keys. */
export function findSecretKeys(p: pkcs11js.PKCS11, session: pkcs11js.Handle, opts: { label?: string; tokenOnly: boolean; max: number }): pkcs11js.Handle[] {
  const template: pkcs11js.Template = [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }];
  if (opts.label !== undefined) template.push({ type: pkcs11js.CKA_LABEL, value: opts.label });
  if (opts.tokenOnly) template.push({ type: pkcs11js.CKA_TOKEN, value: true });
  p.C_FindObjectsInit(session, template);
  try {
    return p.C_FindObjects(session, opts.max);
  } finally {
    // Always end the search: the session cannot start another operation until it does.
    p.C_FindObjectsFinal(session);
  }
}
