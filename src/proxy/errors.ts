/**
 * The XKS error table (xks-api.md §7) and the one function that turns anything thrown while
 * serving a request into a status and a single-line JSON body. Handlers only throw.
 */
import { isHsmError, type HsmErrorKind } from "../hsm/types.js";

/** HTTP status of each XKS errorName. */
export const XKS_ERRORS = {
  ValidationException: 400,
  InvalidStateException: 400,
  InvalidCiphertextException: 400,
  InvalidKeyUsageException: 400,
  AuthenticationFailedException: 401,
  AccessDeniedException: 403,
  KeyNotFoundException: 404,
  InvalidUriPathException: 404,
  ThrottlingException: 429,
  InternalException: 500,
  UnsupportedOperationException: 501,
  DependencyTimeoutException: 503,
} as const;

/** One of the spec's errorNames. */
export type XksErrorName = keyof typeof XKS_ERRORS;

/** HSM failure kinds → XKS errorName. */
const HSM_KIND_TO_XKS: Record<HsmErrorKind, XksErrorName> = {
  "invalid-ciphertext": "InvalidCiphertextException",
  "key-usage": "InvalidKeyUsageException",
  "key-not-found": "KeyNotFoundException",
  "invalid-state": "InvalidStateException",
  validation: "ValidationException",
  throttled: "ThrottlingException",
  timeout: "DependencyTimeoutException",
  internal: "InternalException",
};

/** An error answered to KMS. `message` goes into errorMessage: safe, printable ASCII, < 512. */
export class XksError extends Error {
  readonly status: number;
  constructor(
    readonly errorName: XksErrorName,
    message: string,
    /** Extra detail for our log only (never sent). */
    readonly logDetail?: string,
  ) {
    super(message);
    this.name = "XksError";
    this.status = XKS_ERRORS[errorName];
  }
}

/** Makes a message safe for errorMessage: printable ASCII only, at most 511 characters. */
export function safeMessage(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, 511);
}

/** The response for any thrown value, plus what to log. Unknown errors become 500, details logged only. */
export function toXksResponse(err: unknown): { status: number; body: string; errorName: XksErrorName; logDetail?: string } {
  let e: XksError;
  if (err instanceof XksError) e = err;
  else if (isHsmError(err)) {
    const name = HSM_KIND_TO_XKS[err.kind];
    const public_ = name === "InternalException" ? "the HSM operation failed" : name === "InvalidCiphertextException" ? "the ciphertext, IV, tag, AAD or metadata does not authenticate" : err.message;
    e = new XksError(name, public_, err.message);
  } else {
    e = new XksError("InternalException", "internal error", String((err as Error)?.stack ?? err));
  }
  return {
    status: e.status,
    body: JSON.stringify({ errorName: e.errorName, errorMessage: safeMessage(e.message) }),
    errorName: e.errorName,
    logDetail: e.logDetail,
  };
}
