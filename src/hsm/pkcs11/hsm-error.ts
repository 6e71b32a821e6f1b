/** Turns whatever a PKCS#11 call rejected with into an HsmError, classified by the CKR table. */
import { HsmError, isHsmError } from "../types.js";
import { ckrName, classifyCkr } from "./ckr.js";
import { ckrOf, methodOf } from "./library.js";

/** Wraps a driver rejection into an HsmError; `during` picks the decrypt meaning of some codes. */
export function fromPkcs11(err: unknown, during: "encrypt" | "decrypt" | "other"): HsmError {
  if (isHsmError(err)) return err;
  const code = ckrOf(err);
  if (code === undefined || code === 0) {
    return new HsmError("internal", `${methodOf(err)} failed: ${String((err as Error)?.message ?? err)}`, undefined, "drop");
  }
  const { kind, fate } = classifyCkr(code, during);
  return new HsmError(kind, `${methodOf(err)} returned ${ckrName(code)}`, code, fate);
}
