/**
 * The xkshsm native PKCS#11 driver (native/xkshsm.c): every PKCS#11 call runs on threads the
 * library object owns, whole operations (EncryptInit + Encrypt, FindObjectsInit + Find + Final,
 * ...) as one task, and each method returns a Promise. Nothing here blocks the event loop.
 *
 * The addon is loaded lazily, on the first openLibrary() call, from
 * <package root>/native/build/Release/xkshsm.node (built by `npm run build:native`, i.e.
 * `bash native/build.sh`).
 *
 * Errors: a failing PKCS#11 call rejects with an Error whose `code` is the CK_RV number, `method`
 * the C function ("C_EncryptInit") and `message` "<method> returned 0x<8 hex>". A handle from the
 * module above 2^53-1 rejects with code "XKS_HANDLE_RANGE". Bad arguments throw a TypeError
 * synchronously. A native allocation failure is reported as CKR_HOST_MEMORY.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import { packagePath } from "../../platform/package-root.js";

/** C_GetTokenInfo, with the blank padding trimmed. */
export interface NativeTokenInfo {
  label: string;
  manufacturerId: string;
  model: string;
  serialNumber: string;
  flags: number;
  /** "major.minor", e.g. "2.6". */
  hardwareVersion: string;
  firmwareVersion: string;
}

/** A slot from C_GetSlotList + C_GetSlotInfo; `token` when a token is present and recognised. */
export interface NativeSlot {
  slot: number;
  description: string;
  flags: number;
  token?: NativeTokenInfo;
}

/** A template attribute: its type and raw value bytes (CK_ULONG = 8 bytes LE, CK_BBOOL = 1 byte). */
export type Attr = [type: number, value: Buffer];

/** A loaded PKCS#11 library with its own worker threads. */
export interface NativeLibrary {
  readonly path: string;
  /** C_Initialize({flags: CKF_OS_LOCKING_OK}); CKR_CRYPTOKI_ALREADY_INITIALIZED resolves. */
  initialize(): Promise<void>;
  /** C_Finalize(NULL). Process-wide for the module: other users of the same .so are affected. */
  finalize(): Promise<void>;
  info(): Promise<{ manufacturerId: string; libraryDescription: string; cryptokiVersion: string; libraryVersion: string }>;
  /** C_GetSlotList (two passes) + C_GetSlotInfo + C_GetTokenInfo per slot, one task. */
  slots(tokenPresent: boolean): Promise<NativeSlot[]>;
  /** C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION). */
  openSession(slot: number): Promise<number>;
  closeSession(session: number): Promise<void>;
  /** C_Login(CKU_USER); CKR_USER_ALREADY_LOGGED_IN resolves. The native PIN copy is zeroed after
   *  the call. An empty PIN is passed as a zero-length PIN (not NULL, which would mean a PIN pad). */
  login(session: number, pin: Buffer): Promise<void>;
  logout(session: number): Promise<void>;
  sessionInfo(session: number): Promise<{ slot: number; state: number; flags: number; deviceError: number }>;
  /** C_FindObjectsInit + C_FindObjects (until `max` handles or none left) + always C_FindObjectsFinal. */
  findObjects(session: number, template: Attr[], max: number): Promise<number[]>;
  /** C_GetAttributeValue size pass then value pass, one task. An attribute the token refuses
   *  (sensitive, or invalid for the object) is null. */
  getAttributes(session: number, object: number, types: number[]): Promise<(Buffer | null)[]>;
  generateRandom(session: number, length: number): Promise<Buffer>;
  /** C_GenerateKey with a mechanism that takes no parameter (CKM_AES_KEY_GEN). */
  generateKey(session: number, mechanism: number, template: Attr[]): Promise<number>;
  destroyObject(session: number, object: number): Promise<void>;
  /** C_EncryptInit(CKM_AES_GCM, CK_GCM_PARAMS {pIv, ulIvLen, ulIvBits = 8*ivLen, pAAD, ulAADLen,
   *  ulTagBits = 128}) + single-part C_Encrypt into `outLength` bytes, one task. `iv` may be 12
   *  zero bytes (the HSM overwrites it) or empty (pIv NULL: the HSM appends the IV to the output).
   *  Resolves the bytes written and the IV buffer as it is after the calls. */
  encryptGcm(session: number, key: number, iv: Buffer, aad: Buffer, plaintext: Buffer, outLength: number): Promise<{ output: Buffer; iv: Buffer }>;
  /** C_DecryptInit(GCM as above) + C_Decrypt(ciphertext || tag) into `outLength` bytes, one task. */
  decryptGcm(session: number, key: number, iv: Buffer, aad: Buffer, input: Buffer, outLength: number): Promise<Buffer>;
  /** Calls executing inside the PKCS#11 library right now (not queued ones). */
  inFlight(): number;
  /** Tasks submitted and not yet settled (queued + running + completing). */
  pending(): number;
  /**
   * Settles now the calls that have finished but wait for the event loop's next turn, and returns
   * how many (cheap when none). Their Promise reactions run at the caller's next microtask checkpoint.
   */
  settleReady(): number;
  /** Non-zero while finished calls wait for settleReady() or the event loop (a plain load; absent
   *  if the addon could not make it, then settleReady() is called every time). */
  readonly readyFlag?: Int32Array;
}

/** The error a failed PKCS#11 call rejects with. */
export interface NativePkcs11Error extends Error {
  /** CK_RV, or a string code for failures outside PKCS#11 (XKS_DLOPEN, XKS_HANDLE_RANGE). */
  code: number | string;
  /** The C function that failed, e.g. "C_EncryptInit". */
  method?: string;
}

/** openLibrary's options. */
export interface LibraryOptions {
  /** Worker threads, 1..256. */
  threads: number;
  /**
   * How long an idle worker watches the queue before it sleeps, µs (0..1000; default 0, never).
   * While calls come faster than one per window, a call then needs no wake-up from the event loop
   * (docs/decisions/0008). It costs a thread's CPU, so it is worth it only with a CPU to spare.
   * XKSHSM_SPIN_US, when set, overrides it (for measurements).
   */
  watchUs?: number;
}

/** How long a driver thread watches for the next call when the host has a CPU to spare, µs. */
export const WATCH_QUEUE_US = 50;

interface Addon {
  openLibrary(path: string, opts: LibraryOptions): NativeLibrary;
}

/**
 * Where the built addon must be (found from the package root: src/ under tsx and the dist/ bundle
 * alike). XKSHSM_ADDON, when set, names another build of the same source: the sanitizer test runs
 * the HSM tests on `native/build.sh --sanitize`'s (test/hsm/sanitizers.test.ts).
 */
export function nativeAddonPath(): string {
  return process.env.XKSHSM_ADDON || packagePath("native", "build", "Release", "xkshsm.node");
}

let addon: Addon | undefined;

function loadAddon(): Addon {
  if (addon) return addon;
  const file = nativeAddonPath();
  if (!fs.existsSync(file)) {
    throw Object.assign(
      new Error(`The native PKCS#11 driver is not built (${file} is missing): run \`npm run build:native\` (or \`bash native/build.sh\`)`),
      { code: "XKS_NATIVE_MISSING" },
    );
  }
  const require = createRequire(import.meta.url);
  addon = require(file) as Addon;
  return addon;
}

/**
 * Loads a PKCS#11 module: dlopen(RTLD_NOW | RTLD_LOCAL) + C_GetFunctionList only (no round trip
 * to the HSM), and starts `threads` worker threads (1..256). Synchronous. A dlopen failure throws
 * an Error with code "XKS_DLOPEN" and the dlerror() text; a failing C_GetFunctionList throws with
 * the CK_RV as code and method "C_GetFunctionList".
 */
export function openLibrary(modulePath: string, opts: LibraryOptions): NativeLibrary {
  return loadAddon().openLibrary(modulePath, opts);
}

// ---- constants (PKCS#11 v2.40) ----
export const CKF_TOKEN_INITIALIZED = 0x400;

export const CKS_RO_PUBLIC_SESSION = 0;
export const CKS_RW_PUBLIC_SESSION = 2;
export const CKS_RW_USER_FUNCTIONS = 3;

export const CKO_SECRET_KEY = 0x4;
export const CKK_GENERIC_SECRET = 0x10;
export const CKK_DES3 = 0x15;
export const CKK_AES = 0x1f;

export const CKA_CLASS = 0x0;
export const CKA_TOKEN = 0x1;
export const CKA_PRIVATE = 0x2;
export const CKA_LABEL = 0x3;
export const CKA_VALUE = 0x11;
export const CKA_KEY_TYPE = 0x100;
export const CKA_SENSITIVE = 0x103;
export const CKA_ENCRYPT = 0x104;
export const CKA_DECRYPT = 0x105;
export const CKA_WRAP = 0x106;
export const CKA_UNWRAP = 0x107;
export const CKA_SIGN = 0x108;
export const CKA_VERIFY = 0x10a;
export const CKA_VALUE_LEN = 0x161;
export const CKA_EXTRACTABLE = 0x162;

export const CKM_AES_KEY_GEN = 0x1080;

// ---- attribute value encoding (LP64: CK_ULONG is 8 bytes, little-endian on x86-64/arm64) ----

/** A CK_ULONG attribute. */
export function ulongAttr(type: number, value: number): Attr {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return [type, b];
}

/** A CK_BBOOL attribute. */
export function boolAttr(type: number, value: boolean): Attr {
  return [type, Buffer.from([value ? 1 : 0])];
}

/** A UTF-8 string attribute (CKA_LABEL). */
export function stringAttr(type: number, value: string): Attr {
  return [type, Buffer.from(value, "utf8")];
}

/** Reads a CK_ULONG attribute value; throws if it is not 8 bytes or not a safe integer. */
export function readUlong(value: Buffer): number {
  if (value.length !== 8) throw new RangeError(`CK_ULONG value has ${value.length} bytes, expected 8`);
  const n = value.readBigUInt64LE();
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`CK_ULONG value ${n} is above 2^53-1`);
  return Number(n);
}

/** Reads a CK_BBOOL attribute value. */
export function readBool(value: Buffer): boolean {
  if (value.length !== 1) throw new RangeError(`CK_BBOOL value has ${value.length} bytes, expected 1`);
  return value[0] !== 0;
}
