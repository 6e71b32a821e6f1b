/**
 * The HSM as the proxy and the operator verbs see it: the interface, its data types and the one
 * error type it throws. The proxy reaches the HSM only through this file. The only production implementation is
 * PKCS#11 (src/hsm/pkcs11/); tests run it against a real SoftHSM token.
 */

/** What GetKeyMetadata reports about a key (reference derivation, reference-proxy.md §8). */
export interface KeyInfo {
  label: string;
  /** e.g. "AES_256" (key type name without CKK_, underscore, bits). */
  keySpec: string;
  /** Upper-case usages: ENCRYPT, DECRYPT, SIGN, VERIFY, WRAP, UNWRAP. */
  keyUsage: string[];
}

/** Result of an AES-GCM encrypt in the HSM. */
export interface GcmResult {
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
}

/** Sessions and calls of the HSM layer right now. */
export interface HsmStats {
  /** Pooled sessions open (or being opened). */
  sessions: number;
  inUse: number;
  /** Requests waiting for a session. */
  waiting: number;
  /** PKCS#11 calls inside the library. */
  inFlight: number;
  resetting: boolean;
}

/** HSM operations reported to an observer (metrics). */
export type HsmOperation = "encrypt" | "decrypt" | "key_metadata" | "list_keys" | "health_check";

/** One token's identity, for GetHealthStatus. */
export interface TokenIdentity {
  label: string;
  manufacturerId: string;
  model: string;
  serialNumber: string;
  hardwareVersion: string;
  firmwareVersion: string;
}

/** The operations the proxy needs. `hsmAad` is the already-built AAD given to the HSM. */
export interface Hsm {
  keyMetadata(label: string): Promise<KeyInfo>;
  encrypt(label: string, plaintext: Buffer, hsmAad: Buffer): Promise<GcmResult>;
  decrypt(label: string, ciphertext: Buffer, iv: Buffer, tag: Buffer, hsmAad: Buffer): Promise<Buffer>;
  /** Every AES/secret key on the token, by label. */
  listKeys(): Promise<KeyInfo[]>;
  token(): TokenIdentity;
  /** Encrypt/decrypt round trip with a session key no KMS key uses; throws on failure. */
  selfTest(): Promise<void>;
  /** Drops cached key handles (settings reload: a key may have been replaced under its label). */
  forgetKeyHandles(): void;
  /**
   * Delivers now the results of calls that have finished while the event loop was busy, instead of
   * at its next turn. Cheap when there are none; the proxy calls it for every request on its main
   * port (the separate ping port's /ping does not).
   */
  settleFinished(): void;
  /** The pool right now, without a round trip (metrics, doctor). */
  stats(): HsmStats;
  close(): Promise<void>;
}

/** What a failed HSM operation means for the request (mapped to an XKS errorName by src/proxy/errors.ts). */
export type HsmErrorKind =
  | "invalid-ciphertext" // GCM tag/ciphertext check failed (decrypt only)
  | "key-usage" // key does not allow the operation
  | "key-not-found" // no key with that label
  | "invalid-state" // key or token disabled / locked
  | "validation" // the HSM refused a parameter
  | "throttled" // no session free in time
  | "timeout" // the HSM did not answer in time
  | "internal"; // everything else

/**
 * What the HSM layer does with the session after a failure: keep it; drop it; "stale": drop it and
 * run the operation once more on a fresh session (log in again first after CKR_USER_NOT_LOGGED_IN);
 * "reset": finalize and re-initialise the library (device error, token gone).
 */
export type SessionFate = "keep" | "drop" | "stale" | "reset";

const BRAND = Symbol.for("xksctl.hsm-error");

/** A failed HSM operation. `message` is safe to log (no key material, no PIN), never sent to KMS. */
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

/** True for an HsmError (brand check, not instanceof). */
export function isHsmError(err: unknown): err is HsmError {
  return typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * How many PKCS#11 calls this process can have inside the library at once for the session pool:
 * the native driver's threads less its spares. A larger session_pool_max_size would queue calls
 * that the HSM could run in parallel.
 */
export function maxConcurrentHsmCalls(): number {
  return HSM_DRIVER_MAX_THREADS - HSM_SPARE_THREADS;
}

/** Threads the native driver can own for one library (native/xkshsm.c); a larger pool queues its calls (doctor warns). */
export const HSM_DRIVER_MAX_THREADS = 256;
/** Driver threads beyond the pool's sessions: the health check, a re-login, a session being replaced. */
export const HSM_SPARE_THREADS = 4;
