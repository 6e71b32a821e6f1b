/**
 * The Hsm over PKCS#11 (pkcs11js): pooled sessions, cached key handles, AES-GCM in the three IV
 * modes, and recovery as the reference proxy does it (drop a session after a non-data error,
 * finalize and re-initialise the library after a device error).
 *
 * The long calls (C_Encrypt, C_Decrypt) run on the libuv thread pool through pkcs11js's async
 * variants, so a slow HSM never stalls the event loop; the short bookkeeping calls
 * (EncryptInit, FindObjects, GenerateRandom) are synchronous. See
 * docs/decisions/0002-hsm-calls-off-the-event-loop.md for the measurements behind this.
 */
import pkcs11js from "pkcs11js";
import { aesKeyTemplate } from "./aes-key-template.js";
import type { CallMode, GcmResult, Hsm, KeyInfo, TokenIdentity } from "../types.js";
import { CKR } from "./ckr.js";
import { IV_LENGTH, IvBatch, TAG_LENGTH, encryptOutputLength, gcmMechanism, splitEncryptOutput, type IvMode } from "./gcm.js";
import { findSecretKeys } from "./find-keys.js";
import { HsmError } from "../types.js";
import { fromPkcs11 } from "./hsm-error.js";
import { loadLibrary, type LoadedLibrary } from "./library.js";
import { SessionPool, type PooledSession } from "./session-pool.js";

/** Options of the PKCS#11 HSM. */
export interface Pkcs11HsmOptions {
  modulePath: string;
  pin: string;
  /** Token label to use; default: the first initialised token. */
  tokenLabel?: string;
  poolSize: number;
  /** Max wait for a free session before "throttled", ms. */
  waitMs: number;
  ivMode: IvMode;
  /** Close the session after every request (reference session_eager_close, testing only). */
  eagerClose: boolean;
  /** @default "async" */
  callMode?: CallMode;
  /** Max time for one HSM operation before 503 DependencyTimeoutException, ms; 0 = none. */
  operationTimeoutMs?: number;
  /** Receives operational events (never key material or PINs). */
  onEvent?: (level: "info" | "warn" | "error", message: string) => void;
}

const KEY_TYPES: Record<number, string> = { 0x10: "GENERIC_SECRET", 0x15: "DES3", 0x1f: "AES" };
const USAGES: [number, string][] = [
  [pkcs11js.CKA_ENCRYPT, "ENCRYPT"],
  [pkcs11js.CKA_DECRYPT, "DECRYPT"],
  [pkcs11js.CKA_SIGN, "SIGN"],
  [pkcs11js.CKA_VERIFY, "VERIFY"],
  [pkcs11js.CKA_WRAP, "WRAP"],
  [pkcs11js.CKA_UNWRAP, "UNWRAP"],
];

/** Reads a CK_ULONG attribute value (native byte order, 8 bytes on x86_64). */
function ulong(b: Buffer | undefined): number {
  if (!b || b.length === 0) return 0;
  return b.length >= 8 ? Number(b.readBigUInt64LE(0)) : b.readUInt32LE(0);
}

/** The PKCS#11 implementation of Hsm. */
export class Pkcs11Hsm implements Hsm {
  private lib: LoadedLibrary;
  private pool: SessionPool;
  private keys = new Map<string, pkcs11js.Handle>();
  private healthSession?: pkcs11js.Handle;
  private healthKey?: pkcs11js.Handle;
  private resetting?: Promise<void>;
  private generation = 1;
  private readonly callMode: CallMode;
  /** "random" IV mode: the session that refills is the one asking (any logged-in session will do). */
  private ivSession?: pkcs11js.Handle;
  private readonly ivs = new IvBatch((n) => this.lib.p.C_GenerateRandom(this.ivSession!, Buffer.alloc(n)));

  private constructor(private opts: Pkcs11HsmOptions) {
    this.callMode = opts.callMode ?? "async";
    this.lib = loadLibrary(opts.modulePath, opts.tokenLabel);
    this.pool = this.newPool();
  }

  /** Loads the library, finds the token, logs in (a wrong PIN fails here) and makes the health key. */
  static open(opts: Pkcs11HsmOptions): Pkcs11Hsm {
    const hsm = new Pkcs11Hsm(opts);
    try {
      hsm.makeHealthKey();
    } catch (err) {
      hsm.lib.p.C_Finalize();
      throw err;
    }
    return hsm;
  }

  private newPool(): SessionPool {
    const pool = new SessionPool(this.lib.p, this.lib.slot, { maxSize: this.opts.poolSize, waitMs: this.opts.waitMs, pin: this.opts.pin }, this.generation);
    try {
      pool.prewarm(this.opts.poolSize);
    } catch (err) {
      pool.close(err as Error);
      throw err;
    }
    return pool;
  }

  /** A session AES key (CKA_TOKEN = false) no KMS key can name: lookups ask for CKA_TOKEN = true. */
  private makeHealthKey(): void {
    const p = this.lib.p;
    this.healthSession = p.C_OpenSession(this.lib.slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    this.healthKey = p.C_GenerateKey(this.healthSession, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, aesKeyTemplate("xksctl-health-check", false));
  }

  token(): TokenIdentity {
    return this.lib.token;
  }

  /**
   * Runs `fn` on a pooled session, classifying failures and applying the session's fate. An
   * operation still running after operationTimeoutMs fails with kind "timeout" (503); its session
   * stays out of the pool until the HSM answers, then is closed.
   */
  private async withSession<T>(during: "encrypt" | "decrypt" | "other", fn: (s: PooledSession, p: pkcs11js.PKCS11) => Promise<T> | T): Promise<T> {
    if (this.resetting) await this.resetting;
    const pool = this.pool;
    const s = await pool.acquire();
    let drop = this.opts.eagerClose;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const op = (async () => fn(s, this.lib.p))();
    try {
      const limit = this.opts.operationTimeoutMs;
      if (!limit) return await op;
      return await Promise.race([
        op,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            timedOut = true;
            reject(new HsmError("timeout", `the HSM did not answer within ${limit} ms`));
          }, limit);
        }),
      ]);
    } catch (raw) {
      const err = fromPkcs11(raw, "PKCS#11 call", during);
      if (err.fate !== "keep") drop = true;
      if (err.fate === "reset") this.scheduleReset(err);
      throw err;
    } finally {
      clearTimeout(timer);
      if (timedOut) {
        const late = () => pool.release(s, true);
        op.then(late, late);
      } else pool.release(s, drop || s.generation !== this.generation);
    }
  }

  /** Finds a token secret key by CKA_LABEL (cached); two keys with one label is an error. */
  private keyHandle(label: string, s: PooledSession): pkcs11js.Handle {
    const cached = this.keys.get(label);
    if (cached) return cached;
    const found = findSecretKeys(this.lib.p, s.handle, { label, tokenOnly: true, max: 2 });
    if (found.length === 0) throw new HsmError("key-not-found", "no secret key with that label on the token");
    if (found.length > 1) throw new HsmError("internal", "two secret keys share that label; labels must be unique");
    this.keys.set(label, found[0]!);
    return found[0]!;
  }

  /** Runs a keyed operation; a stale cached handle is looked up again once. */
  private async keyed<T>(label: string, during: "encrypt" | "decrypt" | "other", fn: (s: PooledSession, p: pkcs11js.PKCS11, h: pkcs11js.Handle) => Promise<T> | T): Promise<T> {
    try {
      return await this.withSession(during, (s, p) => fn(s, p, this.keyHandle(label, s)));
    } catch (err) {
      const code = (err as HsmError).ckr;
      if (this.keys.has(label) && (code === CKR.OBJECT_HANDLE_INVALID || code === CKR.KEY_HANDLE_INVALID)) {
        this.keys.delete(label);
        return this.withSession(during, (s, p) => fn(s, p, this.keyHandle(label, s)));
      }
      throw err;
    }
  }

  async keyMetadata(label: string): Promise<KeyInfo> {
    return this.keyed(label, "other", (s, p, h) => this.describeKey(p, s.handle, h, label));
  }

  private describeKey(p: pkcs11js.PKCS11, session: pkcs11js.Handle, h: pkcs11js.Handle, label: string): KeyInfo {
    const attrs = p.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_KEY_TYPE }, { type: pkcs11js.CKA_VALUE_LEN }, ...USAGES.map(([type]) => ({ type }))]);
    const byType = new Map(attrs.map((a) => [a.type, a.value as Buffer | undefined]));
    const keyType = ulong(byType.get(pkcs11js.CKA_KEY_TYPE));
    const bits = ulong(byType.get(pkcs11js.CKA_VALUE_LEN)) * 8;
    const name = KEY_TYPES[keyType] ?? `0x${keyType.toString(16)}`;
    const keyUsage = USAGES.filter(([type]) => byType.get(type)?.[0] === 1).map(([, n]) => n);
    return { label, keySpec: `${name}_${bits}`, keyUsage };
  }

  async encrypt(label: string, plaintext: Buffer, hsmAad: Buffer): Promise<GcmResult> {
    return this.keyed(label, "encrypt", (s, p, h) => this.gcmEncrypt(p, s.handle, h, plaintext, hsmAad));
  }

  private async gcmEncrypt(p: pkcs11js.PKCS11, session: pkcs11js.Handle, key: pkcs11js.Handle, plaintext: Buffer, aad: Buffer): Promise<GcmResult> {
    const mode = this.opts.ivMode;
    let iv: Buffer;
    if (mode === "random") {
      this.ivSession = session;
      iv = this.ivs.next();
    } else iv = Buffer.alloc(mode === "hsm-zero" ? IV_LENGTH : 0);
    p.C_EncryptInit(session, gcmMechanism(iv, aad), key);
    const out = Buffer.alloc(encryptOutputLength(plaintext.length, mode));
    const written = this.callMode === "async" ? await p.C_EncryptAsync(session, plaintext, out) : p.C_Encrypt(session, plaintext, out);
    if (written.length !== out.length) {
      throw new HsmError("internal", `C_Encrypt returned ${written.length} bytes, expected ${out.length}; check [hsm_capabilities]`);
    }
    const { ciphertext, tag, appendedIv } = splitEncryptOutput(written, plaintext.length, mode);
    const finalIv = appendedIv ?? iv;
    if (finalIv.length !== IV_LENGTH || finalIv.every((b) => b === 0)) {
      throw new HsmError("internal", "the HSM did not provide a GCM IV; check [hsm_capabilities] for this HSM");
    }
    return { ciphertext: Buffer.from(ciphertext), iv: Buffer.from(finalIv), tag: Buffer.from(tag) };
  }

  async decrypt(label: string, ciphertext: Buffer, iv: Buffer, tag: Buffer, hsmAad: Buffer): Promise<Buffer> {
    return this.keyed(label, "decrypt", (s, p, h) => this.gcmDecrypt(p, s.handle, h, ciphertext, iv, tag, hsmAad));
  }

  private async gcmDecrypt(p: pkcs11js.PKCS11, session: pkcs11js.Handle, key: pkcs11js.Handle, ct: Buffer, iv: Buffer, tag: Buffer, aad: Buffer): Promise<Buffer> {
    p.C_DecryptInit(session, gcmMechanism(iv, aad), key);
    const input = Buffer.concat([ct, tag]);
    // SoftHSM needs room for ciphertext + tag even though only the plaintext is written.
    const out = Buffer.alloc(ct.length + TAG_LENGTH);
    const plain = this.callMode === "async" ? await p.C_DecryptAsync(session, input, out) : p.C_Decrypt(session, input, out);
    return Buffer.from(plain);
  }

  async listKeys(): Promise<KeyInfo[]> {
    return this.withSession("other", (s, p) => {
      const handles = findSecretKeys(p, s.handle, { tokenOnly: true, max: 10000 });
      return handles.map((h) => {
        const [labelAttr] = p.C_GetAttributeValue(s.handle, h, [{ type: pkcs11js.CKA_LABEL }]);
        return this.describeKey(p, s.handle, h, (labelAttr?.value as Buffer | undefined)?.toString("utf8") ?? "");
      });
    });
  }

  async selfTest(): Promise<void> {
    if (this.resetting) await this.resetting;
    const key = this.healthKey;
    if (!key) throw new HsmError("internal", "no health-check key (the HSM is being reset)");
    const plaintext = Buffer.from("xksctl health check");
    const aad = Buffer.from([0, 0, 0]);
    const enc = await this.withSession("encrypt", (s, p) => this.gcmEncrypt(p, s.handle, key, plaintext, aad));
    const dec = await this.withSession("decrypt", (s, p) => this.gcmDecrypt(p, s.handle, key, enc.ciphertext, enc.iv, enc.tag, aad));
    if (!dec.equals(plaintext)) throw new HsmError("internal", "health-check round trip returned different bytes");
  }

  /** Starts a library reset once; requests wait for it. */
  private scheduleReset(cause: HsmError): void {
    if (this.resetting) return;
    this.opts.onEvent?.("error", `HSM device error (${cause.message}); re-initialising the PKCS#11 library`);
    this.resetting = this.reset().finally(() => {
      this.resetting = undefined;
    });
  }

  /** Finalize and re-initialise the library after a device error (reference-proxy.md §5). */
  private async reset(): Promise<void> {
    const old = this.pool;
    old.close(new HsmError("internal", "HSM is being re-initialised after a device error"));
    for (let waited = 0; old.inUse > 0 && waited < 2000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    this.generation++;
    this.keys.clear();
    this.ivs.clear();
    this.healthKey = undefined;
    try {
      this.lib.p.C_Finalize();
    } catch {
      /* the library may already be gone */
    }
    try {
      this.lib = loadLibrary(this.opts.modulePath, this.opts.tokenLabel);
      this.pool = this.newPool();
      this.makeHealthKey();
      this.opts.onEvent?.("info", "PKCS#11 library re-initialised");
    } catch (err) {
      this.opts.onEvent?.("error", `HSM re-initialisation failed: ${(err as Error).message}`);
      this.pool = old; // closed: requests fail with InternalException until the next device error retries
      setTimeout(() => this.scheduleReset(new HsmError("internal", "retrying after a failed re-initialisation")), 1000).unref();
    }
  }

  async close(): Promise<void> {
    if (this.resetting) await this.resetting;
    this.pool.close(new HsmError("internal", "the proxy is shutting down"));
    for (let waited = 0; this.pool.inUse > 0 && waited < 5000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    try {
      if (this.healthSession) this.lib.p.C_CloseSession(this.healthSession);
      this.lib.p.C_Finalize();
    } catch {
      /* closing anyway */
    }
  }
}
