/**
 * The HSM as the proxy and the operator verbs see it: the interface, its data types and the one
 * error type it throws. The proxy reaches the HSM only through this file. The only production implementation is
 * PKCS#11 (src/hsm/pkcs11/); tests run it against a real SoftHSM token.
 */

/** How the long PKCS#11 calls are made (sync: on the event loop, for benchmarks only). */
export type CallMode = "async" | "sync";

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

/** What the HSM layer does with the session after a failure. */
export type SessionFate = "keep" | "drop" | "reset";

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
 * How many PKCS#11 calls this process can have inside the library at once: the HSM layer's own
 * threads. A session pool larger than this queues calls that the HSM could have run in parallel.
 */
export function maxConcurrentHsmCalls(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.UV_THREADPOOL_SIZE ?? 4);
  return Number.isInteger(n) && n > 0 ? n : 4;
}
