/** The error the PKCS#11 layer throws: a kind the proxy maps to an XKS error, plus the CKR. */
import { ckrName, classifyCkr, type HsmErrorKind, type SessionFate } from "./ckr.js";

const BRAND = Symbol.for("xksctl.hsm-error");

/** A failed HSM operation. `message` is safe to log (no key material, no PIN). */
export class HsmError extends Error {
  readonly [BRAND] = true;
  constructor(
    readonly kind: HsmErrorKind,
    message: string,
    readonly ckr?: number,
    readonly fate: SessionFate = "keep",
  ) {
    super(message);
    this.name = "HsmError";
  }
}

/** True for an HsmError (brand check). */
export function isHsmError(err: unknown): err is HsmError {
  return typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

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
