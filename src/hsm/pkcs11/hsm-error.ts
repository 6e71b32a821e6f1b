/** Turns whatever a PKCS#11 call threw into an HsmError, classified by the CKR table. */
import { HsmError, isHsmError } from "../types.js";
import { ckrName, classifyCkr } from "./ckr.js";

/** Wraps whatever pkcs11js threw into an HsmError, classified by the CKR table. */
export function fromPkcs11(err: unknown, call: string, during: "encrypt" | "decrypt" | "other"): HsmError {
  if (isHsmError(err)) return err;
  const code = typeof (err as { code?: unknown })?.code === "number" ? (err as { code: number }).code : undefined;
  if (code === undefined || code === 0) {
    return new HsmError("internal", `${call} failed: ${String((err as Error)?.message ?? err)}`, undefined, "drop");
  }
  const { kind, fate } = classifyCkr(code, during);
  return new HsmError(kind, `${call} returned ${ckrName(code)}`, code, fate);
}
