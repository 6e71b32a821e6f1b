/** Finds secret keys on a session: C_FindObjectsInit / C_FindObjects / C_FindObjectsFinal as one driver task. */
import { CKA_CLASS, CKA_LABEL, CKA_TOKEN, CKO_SECRET_KEY, boolAttr, stringAttr, ulongAttr, type Attr, type NativeLibrary } from "./native.js";

/** Secret-key handles matching `label` (any label when absent), at most `max`; `tokenOnly` skips session keys. */
export function findSecretKeys(lib: NativeLibrary, session: number, opts: { label?: string; tokenOnly: boolean; max: number }): Promise<number[]> {
  const template: Attr[] = [ulongAttr(CKA_CLASS, CKO_SECRET_KEY)];
  if (opts.label !== undefined) template.push(stringAttr(CKA_LABEL, opts.label));
  if (opts.tokenOnly) template.push(boolAttr(CKA_TOKEN, true));
  return lib.findObjects(session, template, opts.max);
}
