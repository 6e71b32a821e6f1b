/**
 * The XKS error table (xks-api.md §7): every situation the proxy answers with an error, its
 * errorName and its fixed errorMessage, and the one function that turns anything thrown while
 * serving a request into a status and a single-line JSON body. Handlers only throw.
 *
 * KMS writes errorMessage into the calling account's CloudWatch Logs, so it is never built from
 * the request, the HSM or the settings: it is one of the fixed strings below (field-specific ones
 * name a field from the closed list BodyField). Details (the SigV4 reason, the CKR name, the
 * load that caused a 429) go to our log line's `detail` only.
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

/** The request body fields an errorMessage may name. */
export type BodyField =
  | "requestMetadata"
  | "requestMetadata.kmsRequestId"
  | "requestMetadata.kmsOperation"
  | "requestMetadata.awsPrincipalArn"
  | "requestMetadata.kmsKeyArn"
  | "requestMetadata.awsSourceVpc"
  | "requestMetadata.awsSourceVpce"
  | "requestMetadata.kmsViaService"
  | "plaintext"
  | "ciphertext"
  | "encryptionAlgorithm"
  | "additionalAuthenticatedData"
  | "ciphertextDataIntegrityValueAlgorithm"
  | "initializationVector"
  | "authenticationTag"
  | "ciphertextMetadata";

type Message = string | ((field: BodyField) => string);

/**
 * Every error situation: errorName, the fixed errorMessage and, where it is not the errorName's,
 * the HTTP status. The only place these texts live.
 */
export const XKS_SITUATIONS = {
  // Before the body is read: route, method, query, size, load.
  unknownPath: { errorName: "InvalidUriPathException", message: "the URI path is not a valid XKS API path for this proxy" },
  pingPortOnly: { errorName: "InvalidUriPathException", message: "this port serves only GET /ping" },
  // A wrong method is 405 (the spec defines no body for it; KMS reads JSON, so the usual shape).
  methodNotAllowed: { errorName: "ValidationException", status: 405, message: "the XKS API accepts only POST on this path" },
  pingMethod: { errorName: "ValidationException", status: 405, message: "use GET /ping" },
  queryString: { errorName: "ValidationException", message: "the XKS API takes no query string" },
  malformedHttp: { errorName: "ValidationException", message: "the request is not valid HTTP" },
  requestTimeout: { errorName: "ValidationException", message: "the request did not arrive in time" },
  bodyTooLarge: { errorName: "UnsupportedOperationException", message: "the request body is larger than this proxy accepts" },
  overloaded: { errorName: "ThrottlingException", message: "the proxy is busy; retry the request" },
  // Authentication and the body.
  authentication: { errorName: "AuthenticationFailedException", message: "the request signature could not be verified" },
  accessDenied: { errorName: "AccessDeniedException", message: "the request is not allowed by this key store's authorization rules" },
  contentType: { errorName: "ValidationException", message: "Content-Type must be application/json" },
  notJson: { errorName: "ValidationException", message: "the request body is not valid JSON" },
  notObject: { errorName: "ValidationException", message: "the request body must be a JSON object" },
  fieldRequired: { errorName: "ValidationException", message: (f: BodyField) => `${f} is required` },
  fieldNotString: { errorName: "ValidationException", message: (f: BodyField) => `${f} must be a string` },
  fieldNotObject: { errorName: "ValidationException", message: (f: BodyField) => `${f} must be an object` },
  fieldNotBase64: { errorName: "ValidationException", message: (f: BodyField) => `${f} is not valid standard Base64` },
  fieldEmpty: { errorName: "ValidationException", message: (f: BodyField) => `${f} must not be empty` },
  algorithm: { errorName: "ValidationException", message: "encryptionAlgorithm must be AES_GCM" },
  cdivAlgorithm: { errorName: "ValidationException", message: "ciphertextDataIntegrityValueAlgorithm must be SHA_256" },
  ivLength: { errorName: "ValidationException", message: "initializationVector must be 12 or 16 bytes" },
  tagLength: { errorName: "ValidationException", message: "authenticationTag must be 16 bytes" },
  metadataLength: { errorName: "ValidationException", message: "ciphertextMetadata must be at most 20 bytes" },
  // Keys and size limits.
  keyNotInStore: { errorName: "KeyNotFoundException", message: "no such external key in this key store" },
  keyDisabled: { errorName: "InvalidStateException", message: "the external key is disabled" },
  fieldTooLarge: { errorName: "UnsupportedOperationException", message: (f: BodyField) => `${f} is larger than this proxy supports` },
  // The HSM (HsmErrorKind → situation below).
  hsmInvalidCiphertext: { errorName: "InvalidCiphertextException", message: "the ciphertext, IV, tag, AAD or metadata does not authenticate" },
  hsmKeyUsage: { errorName: "InvalidKeyUsageException", message: "the external key does not allow this operation" },
  hsmKeyNotFound: { errorName: "KeyNotFoundException", message: "no such external key in the HSM" },
  hsmInvalidState: { errorName: "InvalidStateException", message: "the external key or the HSM is not usable" },
  hsmValidation: { errorName: "ValidationException", message: "the HSM refused a parameter of the request" },
  hsmThrottled: { errorName: "ThrottlingException", message: "the HSM is busy; retry the request" },
  hsmTimeout: { errorName: "DependencyTimeoutException", message: "the HSM did not answer in time" },
  hsmInternal: { errorName: "InternalException", message: "the HSM operation failed" },
  internal: { errorName: "InternalException", message: "internal error" },
} as const satisfies Record<string, { errorName: XksErrorName; status?: number; message: Message }>;

/** One error situation. */
export type Situation = keyof typeof XKS_SITUATIONS;
/** The situations whose message names a field. */
export type FieldSituation = { [K in Situation]: (typeof XKS_SITUATIONS)[K]["message"] extends string ? never : K }[Situation];

/** HSM failure kinds → situation. */
const HSM_SITUATION: Record<HsmErrorKind, Situation> = {
  "invalid-ciphertext": "hsmInvalidCiphertext",
  "key-usage": "hsmKeyUsage",
  "key-not-found": "hsmKeyNotFound",
  "invalid-state": "hsmInvalidState",
  validation: "hsmValidation",
  throttled: "hsmThrottled",
  timeout: "hsmTimeout",
  internal: "hsmInternal",
};

/** An error answered to KMS: a situation of the table, plus detail for our log only. */
export class XksError extends Error {
  readonly status: number;
  readonly errorName: XksErrorName;
  /** Extra detail for our log only (never sent). */
  readonly logDetail?: string;
  constructor(
    readonly situation: Situation,
    opts: { field?: BodyField; detail?: string } = {},
  ) {
    const entry = XKS_SITUATIONS[situation];
    const m: Message = entry.message;
    // An expected outcome, never logged with a stack: capturing one would be most of the cost of
    // answering a client's mistake (the flood's 429 is rendered once, src/proxy/server.ts).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(typeof m === "string" ? m : m(opts.field ?? "requestMetadata"));
    Error.stackTraceLimit = limit;
    this.name = "XksError";
    this.errorName = entry.errorName;
    this.status = ("status" in entry ? entry.status : undefined) ?? XKS_ERRORS[entry.errorName];
    this.logDetail = opts.detail;
  }
}

/** A field-specific XksError. */
export function fieldError(situation: FieldSituation, field: BodyField, detail?: string): XksError {
  return new XksError(situation, { field, detail });
}

/** Makes a message safe for errorMessage: printable ASCII only, at most 511 characters. */
function safeMessage(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, 511);
}

/** A short description of an unexpected error for the log: message and the first frames, on one line. */
function describeUnexpected(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 500);
  const frames = (err.stack ?? "").split("\n").slice(1, 4).map((l) => l.trim());
  return [`${err.name}: ${err.message}`, ...frames].join(" | ").slice(0, 1000);
}

/** The XksError for any thrown value: HsmErrors by kind, anything else is an internal failure. */
function asXksError(err: unknown): XksError {
  if (err instanceof XksError) return err;
  if (isHsmError(err)) return new XksError(HSM_SITUATION[err.kind], { detail: err.message });
  return new XksError("internal", { detail: describeUnexpected(err) });
}

/** The response for any thrown value, plus what to log. */
export function toXksResponse(err: unknown): { status: number; body: string; errorName: XksErrorName; logDetail?: string } {
  const e = asXksError(err);
  return {
    status: e.status,
    body: JSON.stringify({ errorName: e.errorName, errorMessage: safeMessage(e.message) }),
    errorName: e.errorName,
    logDetail: e.logDetail,
  };
}
