/**
 * The CKR table: every PKCS#11 return code xksctl treats specially, in one place. For each code:
 * its name, what it means for the request (HsmErrorKind, mapped to an XKS errorName by
 * src/proxy/errors.ts), and what it means for the session (keep, drop, or reset the library).
 * Also how a driver rejection is read: its CK_RV, the failing function, and the text naming them.
 * Behaviour follows the reference proxy (reference-proxy.md §5, §10).
 */

import type { HsmErrorKind, SessionFate } from "../types.js";
import type { NativePkcs11Error } from "./native.js";

/** Which call failed, for the codes that mean something else in a decrypt. */
export type During = "encrypt" | "decrypt" | "other";

/** Codes used by name in code. */
export const CKR = {
  USER_NOT_LOGGED_IN: 0x101,
} as const;

interface CkrRow {
  name: string;
  kind: HsmErrorKind;
  /** Kind when the failing call was a decrypt (reference: GENERAL_ERROR etc. → InvalidCiphertext). */
  onDecrypt?: HsmErrorKind;
  fate: SessionFate;
  /** A PIN problem (wrong, malformed, expired, locked): C_Login failing with it is the admin's PIN. */
  pin?: true;
  /** The object or key handle is not valid (any more). */
  handleInvalid?: true;
}

const ROWS: Record<number, CkrRow> = {
  0x00000005: { name: "CKR_GENERAL_ERROR", kind: "internal", onDecrypt: "invalid-ciphertext", fate: "drop" },
  0x00000006: { name: "CKR_FUNCTION_FAILED", kind: "internal", onDecrypt: "invalid-ciphertext", fate: "drop" },
  0x00000007: { name: "CKR_ARGUMENTS_BAD", kind: "internal", fate: "keep" },
  0x00000020: { name: "CKR_DATA_INVALID", kind: "validation", fate: "keep" },
  0x00000021: { name: "CKR_DATA_LEN_RANGE", kind: "validation", fate: "keep" },
  0x00000030: { name: "CKR_DEVICE_ERROR", kind: "internal", fate: "reset" },
  0x00000031: { name: "CKR_DEVICE_MEMORY", kind: "internal", fate: "drop" },
  0x00000032: { name: "CKR_DEVICE_REMOVED", kind: "internal", fate: "reset" },
  0x00000040: { name: "CKR_ENCRYPTED_DATA_INVALID", kind: "invalid-ciphertext", fate: "keep" },
  0x00000041: { name: "CKR_ENCRYPTED_DATA_LEN_RANGE", kind: "invalid-ciphertext", fate: "keep" },
  0x00000050: { name: "CKR_FUNCTION_CANCELED", kind: "internal", fate: "drop" },
  0x00000060: { name: "CKR_KEY_HANDLE_INVALID", kind: "key-not-found", fate: "keep", handleInvalid: true },
  0x00000062: { name: "CKR_KEY_SIZE_RANGE", kind: "key-usage", fate: "keep" },
  0x00000063: { name: "CKR_KEY_TYPE_INCONSISTENT", kind: "key-usage", fate: "keep" },
  0x00000068: { name: "CKR_KEY_FUNCTION_NOT_PERMITTED", kind: "key-usage", fate: "keep" },
  0x00000070: { name: "CKR_MECHANISM_INVALID", kind: "internal", fate: "keep" },
  0x00000071: { name: "CKR_MECHANISM_PARAM_INVALID", kind: "internal", fate: "keep" },
  0x00000082: { name: "CKR_OBJECT_HANDLE_INVALID", kind: "key-not-found", fate: "keep", handleInvalid: true },
  0x00000090: { name: "CKR_OPERATION_ACTIVE", kind: "internal", fate: "drop" },
  0x00000091: { name: "CKR_OPERATION_NOT_INITIALIZED", kind: "internal", fate: "drop" },
  0x000000a0: { name: "CKR_PIN_INCORRECT", kind: "internal", fate: "drop", pin: true },
  0x000000a1: { name: "CKR_PIN_INVALID", kind: "internal", fate: "drop", pin: true },
  0x000000a2: { name: "CKR_PIN_LEN_RANGE", kind: "internal", fate: "drop", pin: true },
  0x000000a3: { name: "CKR_PIN_EXPIRED", kind: "invalid-state", fate: "drop", pin: true },
  0x000000a4: { name: "CKR_PIN_LOCKED", kind: "invalid-state", fate: "drop", pin: true },
  0x000000b0: { name: "CKR_SESSION_CLOSED", kind: "internal", fate: "stale" },
  0x000000b3: { name: "CKR_SESSION_HANDLE_INVALID", kind: "internal", fate: "stale" },
  0x000000b4: { name: "CKR_SESSION_PARALLEL_NOT_SUPPORTED", kind: "internal", fate: "drop" },
  0x000000b5: { name: "CKR_SESSION_READ_ONLY", kind: "internal", fate: "drop" },
  0x000000e0: { name: "CKR_TOKEN_NOT_PRESENT", kind: "internal", fate: "reset" },
  0x000000e1: { name: "CKR_TOKEN_NOT_RECOGNIZED", kind: "internal", fate: "reset" },
  0x00000100: { name: "CKR_USER_ALREADY_LOGGED_IN", kind: "internal", fate: "keep" },
  [CKR.USER_NOT_LOGGED_IN]: { name: "CKR_USER_NOT_LOGGED_IN", kind: "internal", fate: "stale" },
  0x00000103: { name: "CKR_USER_TYPE_INVALID", kind: "internal", fate: "drop" },
  0x00000002: { name: "CKR_HOST_MEMORY", kind: "internal", fate: "drop" },
  0x00000003: { name: "CKR_SLOT_ID_INVALID", kind: "internal", fate: "reset" },
  0x00000054: { name: "CKR_FUNCTION_NOT_SUPPORTED", kind: "internal", fate: "drop" },
  0x00000150: { name: "CKR_BUFFER_TOO_SMALL", kind: "internal", fate: "drop" },
  0x00000190: { name: "CKR_CRYPTOKI_NOT_INITIALIZED", kind: "internal", fate: "reset" },
  0x00000191: { name: "CKR_CRYPTOKI_ALREADY_INITIALIZED", kind: "internal", fate: "keep" },
};

/** Name of a CKR code, e.g. "CKR_GENERAL_ERROR", or "CKR_0x…" when unknown. */
export function ckrName(code: number): string {
  return ROWS[code]?.name ?? `CKR_0x${code.toString(16).padStart(8, "0")}`;
}

/** How a failing call affects the request and the session. */
export function classifyCkr(code: number, during: During): { kind: HsmErrorKind; fate: SessionFate } {
  const row = ROWS[code];
  if (!row) return { kind: "internal", fate: "drop" };
  return { kind: (during === "decrypt" && row.onDecrypt) || row.kind, fate: row.fate };
}

/** True for a code that means the user PIN is wrong, malformed, expired or locked. */
export function isPinFailure(code: number | undefined): boolean {
  return code !== undefined && ROWS[code]?.pin === true;
}

/** True for CKR_OBJECT_HANDLE_INVALID and CKR_KEY_HANDLE_INVALID. */
export function isHandleInvalid(code: number | undefined): boolean {
  return code !== undefined && ROWS[code]?.handleInvalid === true;
}

/** The CK_RV of a driver rejection, or undefined for other failures. */
export function ckrOf(err: unknown): number | undefined {
  const code = (err as Partial<NativePkcs11Error> | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** The failing PKCS#11 function of a driver rejection. */
export function methodOf(err: unknown): string {
  const m = (err as Partial<NativePkcs11Error> | null)?.method;
  return typeof m === "string" ? m : "PKCS#11 call";
}

/** "C_Login returned CKR_PIN_INCORRECT" for a driver rejection. */
export function describeFailure(err: unknown): string {
  const code = ckrOf(err);
  return code === undefined ? `${methodOf(err)} failed: ${(err as Error)?.message ?? String(err)}` : `${methodOf(err)} returned ${ckrName(code)}`;
}
