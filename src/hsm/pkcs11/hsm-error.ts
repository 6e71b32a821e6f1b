/** Turns whatever a PKCS#11 call rejected with into an HsmError, classified by the CKR table. */
import { HsmError, isHsmError } from "../types.js";
import { ckrOf, classifyCkr, describeFailure, type During } from "./ckr.js";

/** Wraps a driver rejection into an HsmError; `during` picks the decrypt meaning of some codes. */
export function fromPkcs11(err: unknown, during: During): HsmError {
  if (isHsmError(err)) return err;
  const code = ckrOf(err);
  if (code === undefined) return new HsmError("internal", describeFailure(err), undefined, "drop");
  const { kind, fate } = classifyCkr(code, during);
  return new HsmError(kind, describeFailure(err), code, fate);
}
