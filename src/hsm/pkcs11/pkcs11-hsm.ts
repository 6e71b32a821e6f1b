/**
 * The Hsm over PKCS#11 for a network HSM: every call goes through the native driver (its own
 * threads, never the event loop; docs/decisions/0002), so a module that answers each call in
 * milliseconds slows only the request that waits for it.
 *
 * Sessions heal:
 * - an operation that fails in C_Encrypt/C_Decrypt closes its session (the HSM may still hold the
 *   operation active; the next request gets a fresh session), so one bad request never fails a
 *   later good one;
 * - a stale session (CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_USER_NOT_LOGGED_IN after a
 *   hardserver restart) is replaced, the user logged in again when needed, and the operation run
 *   once more on a fresh session (an Encrypt gets a new IV from the HSM); a lost session also closes
 *   the idle ones, which most likely went with it, so that the retry does not take one of them;
 * - a device error, a removed token or a lost library re-initialises the library: C_Finalize waits
 *   until no call is queued or inside the library, and sessions of the old initialisation are never
 *   closed through the new one;
 * - key handles are cached by label, dropped when the HSM calls one invalid and on forgetKeyHandles().
 */
import { XksctlError } from "../../errors.js";
import { HSM_DRIVER_MAX_THREADS, HSM_SPARE_THREADS, HsmError, type GcmResult, type Hsm, type HsmOperation, type HsmStats, type KeyInfo, type TokenIdentity } from "../types.js";
import { aesKeyTemplate } from "./aes-key-template.js";
import { CKR, describeFailure, isHandleInvalid, methodOf, type During } from "./ckr.js";
import { findSecretKeys } from "./find-keys.js";
import { IV_LENGTH, IvBatch, TAG_LENGTH, encryptOutputLength, splitEncryptOutput, type IvMode } from "./gcm.js";
import { fromPkcs11 } from "./hsm-error.js";
import { initToken, loadLibrary, login, openSession } from "./library.js";
import {
  CKA_DECRYPT,
  CKA_ENCRYPT,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_SIGN,
  CKA_UNWRAP,
  CKA_VALUE_LEN,
  CKA_VERIFY,
  CKA_WRAP,
  CKK_AES,
  CKK_DES3,
  CKK_GENERIC_SECRET,
  CKM_AES_KEY_GEN,
  CKS_RO_PUBLIC_SESSION,
  CKS_RW_PUBLIC_SESSION,
  readUlong,
  WATCH_QUEUE_US,
  type NativeLibrary,
} from "./native.js";
import { SessionPool } from "./session-pool.js";

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
  /** Max time for one HSM operation before 503 DependencyTimeoutException, ms; 0 = none. */
  operationTimeoutMs?: number;
  /** Max time for open() (library, login, pool, health key), ms; absent = none. */
  openTimeoutMs?: number;
  /**
   * After a device error, how long the re-initialisation waits for calls still queued or inside
   * the library before it gives up and calls onUnrecoverable, ms; absent = no limit.
   */
  resetWaitMs?: number;
  /**
   * The host has a CPU beyond the event loops that use this HSM: an idle driver thread may then
   * watch for the next call instead of sleeping, which saves the event loop a wake-up per call
   * (docs/decisions/0008). Without a spare CPU the watching takes CPU from the event loops.
   */
  cpuToSpare?: boolean;
  /** Receives operational events (never key material or PINs). */
  onEvent?: (level: "info" | "warn" | "error", message: string) => void;
  /**
   * The library cannot be re-initialised in this process: a call has stayed inside it for
   * resetWaitMs after a device error. Requests keep failing fast; only a new process (a fresh
   * load of the library) recovers, so the caller should end this one.
   */
  onUnrecoverable?: (message: string) => void;
  /** Receives the duration of every operation (metrics). */
  onOperation?: (operation: HsmOperation, seconds: number, ok: boolean) => void;
}


const KEY_TYPES: Record<number, string> = { [CKK_GENERIC_SECRET]: "GENERIC_SECRET", [CKK_DES3]: "DES3", [CKK_AES]: "AES" };
const USAGES: [number, string][] = [
  [CKA_ENCRYPT, "ENCRYPT"],
  [CKA_DECRYPT, "DECRYPT"],
  [CKA_SIGN, "SIGN"],
  [CKA_VERIFY, "VERIFY"],
  [CKA_WRAP, "WRAP"],
  [CKA_UNWRAP, "UNWRAP"],
];
const HEALTH_LABEL = "xksctl-health-check";

/** The health check's own key on `session`: AES-256, a session object (CKA_TOKEN false), never a KMS key. */
const makeHealthKey = (lib: NativeLibrary, session: number): Promise<number> => lib.generateKey(session, CKM_AES_KEY_GEN, aesKeyTemplate(HEALTH_LABEL, false));

/** Calls whose failure may leave the operation active in the HSM: their session is closed. */
const OPERATION_CALLS = new Set(["C_Encrypt", "C_Decrypt"]);
const isPublic = (state: number) => state === CKS_RO_PUBLIC_SESSION || state === CKS_RW_PUBLIC_SESSION;

/** One initialisation of the library: its slot, token, pool and health key. */
interface Generation {
  slot: number;
  token: TokenIdentity;
  pool: SessionPool;
  /**
   * The session the user logged in on, kept open for the generation's life: PKCS#11 logs the user
   * out when an application's last session with the token closes, which would happen when a fault
   * makes every pooled session close at once. Log-ins after start-up are made on it.
   */
  anchor: number;
  health?: { session: number; key: number };
}

type Op<T> = (lib: NativeLibrary, session: number) => Promise<T>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The PKCS#11 implementation of Hsm. */
export class Pkcs11Hsm implements Hsm {
  private gen: Generation;
  private keys = new Map<string, number>();
  private resetting?: Promise<void>;
  /** A re-initialisation gave up waiting for a call inside the library (resetWaitMs): for good. */
  private stuck = false;
  private relogging?: Promise<void>;
  private healthMaking?: Promise<{ session: number; key: number }>;
  private healthRunning = false;
  /** Counts logins after start-up; a key search that straddles one may have run logged out. */
  private loginEpoch = 0;
  private closed = false;
  private readonly ivs = new IvBatch();

  private constructor(
    private readonly lib: NativeLibrary,
    private readonly opts: Pkcs11HsmOptions,
    gen: Generation,
  ) {
    this.gen = gen;
  }

  /**
   * Loads the library, finds the token, logs in (a wrong PIN fails here), opens the pool and makes
   * the health key, within openTimeoutMs: an HSM that never answers a call fails the start instead
   * of hanging it (the call keeps its driver thread; an open that completes late is closed).
   */
  static async open(opts: Pkcs11HsmOptions): Promise<Pkcs11Hsm> {
    const opening = Pkcs11Hsm.openNow(opts);
    const limit = opts.openTimeoutMs;
    if (!limit) return opening;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void opening.then((hsm) => hsm.close(), () => undefined);
        reject(
          new XksctlError("XKS_HSM_OPEN_TIMEOUT", `The HSM did not finish opening within ${limit} ms (loading ${opts.modulePath}, C_Login, ${opts.poolSize} sessions): one of its calls has not returned`),
        );
      }, limit);
    });
    try {
      return await Promise.race([opening, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private static async openNow(opts: Pkcs11HsmOptions): Promise<Pkcs11Hsm> {
    const loaded = await loadLibrary(opts.modulePath, opts.tokenLabel, {
      threads: Math.min(opts.poolSize + HSM_SPARE_THREADS, HSM_DRIVER_MAX_THREADS),
      watchUs: opts.cpuToSpare ? WATCH_QUEUE_US : 0,
    });
    try {
      const gen = await Pkcs11Hsm.startGeneration(loaded.lib, opts, loaded.slot, loaded.token);
      return new Pkcs11Hsm(loaded.lib, opts, gen);
    } catch (err) {
      await finalizeWhenIdle(loaded.lib);
      throw err;
    }
  }

  /** Logs in on the anchor session, opens the pool, makes the health key on a session of its own. */
  private static async startGeneration(lib: NativeLibrary, opts: Pkcs11HsmOptions, slot: number, token: TokenIdentity): Promise<Generation> {
    const anchor = await openSession(lib, slot);
    let healthSession: number | undefined;
    try {
      await login(lib, anchor, opts.pin);
      healthSession = await openSession(lib, slot);
      const pool = new SessionPool(lib, slot, { maxSize: opts.poolSize, waitMs: opts.waitMs, openError: (err) => fromPkcs11(err, "other") });
      try {
        await pool.prewarm(opts.poolSize);
      } catch (err) {
        pool.close(new HsmError("internal", "start-up failed"));
        throw fromPkcs11(err, "other");
      }
      let key: number;
      try {
        key = await makeHealthKey(lib, healthSession);
      } catch (err) {
        pool.close(new HsmError("internal", "start-up failed"));
        throw new XksctlError("XKS_HSM_KEYGEN", `C_GenerateKey refused the health-check session key (AES-256, CKA_TOKEN false): ${describeFailure(err)}`, { cause: err });
      }
      return { slot, token, pool, anchor, health: { session: healthSession, key } };
    } catch (err) {
      if (healthSession !== undefined) await lib.closeSession(healthSession).catch(() => undefined);
      await lib.closeSession(anchor).catch(() => undefined);
      throw err;
    }
  }

  token(): TokenIdentity {
    return this.gen.token;
  }

  forgetKeyHandles(): void {
    this.keys.clear();
  }

  settleFinished(): void {
    // Under load a turn of the event loop is every connection's reads (~100 ms in issue 8's flood);
    // a call that finished in µs would otherwise wait for the next turn before its answer is sent.
    const ready = this.lib.readyFlag;
    if (ready === undefined || ready[0] !== 0) this.lib.settleReady();
  }

  /**
   * Runs `op` on a pooled session: classifies a failure, closes the session when it may be
   * unusable, re-initialises the library after a device error, and runs the operation once more on
   * a fresh session when the first one was stale. An operation still running after
   * operationTimeoutMs fails with kind "timeout" (503); its session stays out of the pool until the
   * HSM answers, then is closed.
   */
  private async operate<T>(during: During, op: Op<T>, retried = false): Promise<T> {
    if (this.closed) throw new HsmError("internal", "the proxy is shutting down");
    if (this.resetting) throw new HsmError("internal", "the HSM is being re-initialised after a device error");
    const gen = this.gen;
    const epoch = this.loginEpoch;
    const s = await gen.pool.acquire();
    const running = op(this.lib, s.handle);
    let timedOut = false;
    try {
      const result = await this.withTimeout(running, () => {
        // The call keeps its thread; its session comes back when the HSM answers, and is closed.
        timedOut = true;
        void running.then(
          () => gen.pool.release(s, true),
          () => gen.pool.release(s, true),
        );
      });
      gen.pool.release(s, this.opts.eagerClose);
      return result;
    } catch (raw) {
      if (timedOut) throw raw;
      const err = fromPkcs11(raw, during);
      const drop = err.fate !== "keep" || OPERATION_CALLS.has(methodOf(raw)) || this.opts.eagerClose;
      gen.pool.release(s, drop);
      if (err.fate === "reset") this.scheduleReset(err);
      if (err.fate === "stale" && !retried) {
        // A lost login leaves the sessions usable; a lost session most likely took the idle ones with it.
        if (err.ckr === CKR.USER_NOT_LOGGED_IN) await this.relogin(gen, epoch);
        else {
          const idle = gen.pool.dropIdle();
          if (idle > 0) this.opts.onEvent?.("warn", `${describeFailure(raw)}: the session was lost (hardserver restart or idle sessions reaped?); closed ${idle} idle session(s) too, new ones are opened as requests need them`);
        }
        return this.operate(during, op, true);
      }
      throw err;
    }
  }

  /** Races `p` against operationTimeoutMs; on timeout calls `late` (the call keeps running on its thread). */
  private withTimeout<T>(p: Promise<T>, late: () => void): Promise<T> {
    const limit = this.opts.operationTimeoutMs;
    if (!limit) return p;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        late();
        reject(new HsmError("timeout", `the HSM did not answer within ${limit} ms`));
      }, limit);
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  /**
   * Logs the user in again after the HSM forgot the login: once per loss, however many requests
   * noticed it (`epoch` is the login count when the caller's operation started).
   */
  private relogin(gen: Generation, epoch: number): Promise<void> {
    if (this.relogging) return this.relogging;
    if (this.loginEpoch !== epoch) return Promise.resolve();
    this.relogging = (async () => {
      this.opts.onEvent?.("warn", "the HSM reports the user is no longer logged in (hardserver restart or idle logout); logging in again");
      try {
        await login(this.lib, gen.anchor, this.opts.pin);
      } catch {
        // The anchor itself went stale: a new one first, then the old one closed.
        const s = await this.lib.openSession(gen.slot).catch((e) => {
          throw fromPkcs11(e, "other");
        });
        await login(this.lib, s, this.opts.pin).catch(async (e) => {
          await this.lib.closeSession(s).catch(() => undefined);
          throw e;
        });
        const old = gen.anchor;
        gen.anchor = s;
        void this.lib.closeSession(old).catch(() => undefined);
      }
      this.loginEpoch++;
    })().finally(() => (this.relogging = undefined));
    return this.relogging;
  }

  /** Finds a token secret key by CKA_LABEL (cached); two keys with one label is an error. */
  private async keyHandle(lib: NativeLibrary, session: number, label: string): Promise<number> {
    const cached = this.keys.get(label);
    if (cached !== undefined) return cached;
    const epoch = this.loginEpoch;
    const found = await findSecretKeys(lib, session, { label, tokenOnly: true, max: 2 });
    if (found.length === 0) {
      // A logged-out session finds no private object: after a hardserver restart "not found" may mean
      // "not logged in". A login during the search, or C_GetSessionInfo, tells them apart; the caller
      // then logs in (if still needed) and retries.
      const relogged = this.loginEpoch !== epoch || this.relogging !== undefined;
      if (relogged || isPublic((await lib.sessionInfo(session)).state)) {
        throw new HsmError("internal", "the session is no longer logged in (key lookup found nothing)", CKR.USER_NOT_LOGGED_IN, "stale");
      }
      throw new HsmError("key-not-found", "no secret key with that label on the token");
    }
    if (found.length > 1) throw new HsmError("internal", "two secret keys share that label; labels must be unique");
    this.keys.set(label, found[0]!);
    return found[0]!;
  }

  /** Runs a keyed operation; a cached handle the HSM calls invalid is dropped and looked up again once. */
  private async keyed<T>(label: string, during: During, fn: (lib: NativeLibrary, session: number, key: number) => Promise<T>): Promise<T> {
    let fromCache = false;
    let used: number | undefined;
    const run = () =>
      this.operate(during, async (lib, s) => {
        fromCache = this.keys.has(label);
        used = await this.keyHandle(lib, s, label);
        return fn(lib, s, used);
      });
    try {
      return await run();
    } catch (err) {
      const invalid = isHandleInvalid((err as HsmError).ckr);
      // Another request may already have dropped the same stale handle: compare, then look up again once.
      if ((invalid || (err as HsmError).kind === "key-not-found") && this.keys.get(label) === used) this.keys.delete(label);
      if (fromCache && invalid) return run();
      throw err;
    }
  }

  /** Runs `fn`, reporting its duration and outcome to onOperation. */
  private async timed<T>(operation: HsmOperation, fn: () => Promise<T>): Promise<T> {
    const observe = this.opts.onOperation;
    if (!observe) return fn();
    const t0 = performance.now();
    try {
      const r = await fn();
      observe(operation, (performance.now() - t0) / 1000, true);
      return r;
    } catch (err) {
      observe(operation, (performance.now() - t0) / 1000, false);
      throw err;
    }
  }

  async keyMetadata(label: string): Promise<KeyInfo> {
    return this.timed("key_metadata", () => this.keyed(label, "other", (lib, s, h) => describeKey(lib, s, h, label)));
  }

  async encrypt(label: string, plaintext: Buffer, hsmAad: Buffer): Promise<GcmResult> {
    return this.timed("encrypt", () => this.keyed(label, "encrypt", (lib, s, h) => this.gcmEncrypt(lib, s, h, plaintext, hsmAad)));
  }

  private async gcmEncrypt(lib: NativeLibrary, session: number, key: number, plaintext: Buffer, aad: Buffer): Promise<GcmResult> {
    const mode = this.opts.ivMode;
    const iv = mode === "random" ? await this.ivs.next((n) => lib.generateRandom(session, n)) : Buffer.alloc(mode === "hsm-zero" ? IV_LENGTH : 0);
    const length = encryptOutputLength(plaintext.length, mode);
    const r = await lib.encryptGcm(session, key, iv, aad, plaintext, length);
    if (r.output.length !== length) {
      throw new HsmError("internal", `C_Encrypt returned ${r.output.length} bytes, expected ${length}; check [hsm_capabilities]`);
    }
    const { ciphertext, tag, appendedIv } = splitEncryptOutput(r.output, plaintext.length, mode);
    const finalIv = appendedIv ?? r.iv;
    if (finalIv.length !== IV_LENGTH || finalIv.every((b) => b === 0)) {
      throw new HsmError("internal", "the HSM did not provide a GCM IV; check [hsm_capabilities] for this HSM");
    }
    return { ciphertext, iv: finalIv, tag };
  }

  async decrypt(label: string, ciphertext: Buffer, iv: Buffer, tag: Buffer, hsmAad: Buffer): Promise<Buffer> {
    return this.timed("decrypt", () => this.keyed(label, "decrypt", (lib, s, h) => gcmDecrypt(lib, s, h, ciphertext, iv, tag, hsmAad)));
  }

  async listKeys(): Promise<KeyInfo[]> {
    return this.timed("list_keys", () => this.listKeysNow());
  }

  private listKeysNow(): Promise<KeyInfo[]> {
    return this.operate("other", async (lib, s) => {
      const handles = await findSecretKeys(lib, s, { tokenOnly: true, max: 10000 });
      const out: KeyInfo[] = [];
      for (const h of handles) out.push(await describeKey(lib, s, h));
      return out;
    });
  }

  /** The health session and key of the current generation, made again when gone (session loss, logout). */
  private healthKey(gen: Generation): Promise<{ session: number; key: number }> {
    if (gen.health) return Promise.resolve(gen.health);
    this.healthMaking ??= (async () => {
      const s = await this.lib.openSession(gen.slot);
      try {
        const key = await makeHealthKey(this.lib, s);
        if (this.gen === gen) gen.health = { session: s, key };
        return { session: s, key };
      } catch (err) {
        await this.lib.closeSession(s).catch(() => undefined);
        throw err;
      }
    })().finally(() => (this.healthMaking = undefined));
    return this.healthMaking;
  }

  /** Forgets the health session and key (closing the session when it belongs to the current library). */
  private dropHealth(gen: Generation): void {
    const old = gen.health;
    gen.health = undefined;
    if (old && this.gen === gen) void this.lib.closeSession(old.session).catch(() => undefined);
  }

  /**
   * A deep check on the health key's own session (never one KMS traffic waits for): encrypt and
   * decrypt in the HSM. A lost session, login or key is made again and the check run once more; a
   * device error starts the re-initialisation. A check still inside the HSM makes the next one fail
   * at once ("timeout") rather than share its session.
   */
  async selfTest(): Promise<void> {
    return this.timed("health_check", () => this.selfTestNow());
  }

  private async selfTestNow(): Promise<void> {
    if (this.closed) throw new HsmError("internal", "the proxy is shutting down");
    if (this.resetting) throw new HsmError("internal", "the HSM is being re-initialised after a device error");
    if (this.healthRunning) throw new HsmError("timeout", "the previous health check has not come back from the HSM");
    this.healthRunning = true;
    const gen = this.gen;
    const epoch = this.loginEpoch;
    const plaintext = Buffer.from("xksctl health check");
    const aad = Buffer.from([0, 0, 0]);
    const roundTrip = async () => {
      const h = await this.healthKey(gen);
      const enc = await this.gcmEncrypt(this.lib, h.session, h.key, plaintext, aad);
      const dec = await gcmDecrypt(this.lib, h.session, h.key, enc.ciphertext, enc.iv, enc.tag, aad);
      if (!dec.equals(plaintext)) throw new HsmError("internal", "health-check round trip returned different bytes");
    };
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await roundTrip();
        } catch (raw) {
          const err = fromPkcs11(raw, "other");
          this.dropHealth(gen);
          if (err.fate === "reset") this.scheduleReset(err);
          const lost = err.fate === "stale" || isHandleInvalid(err.ckr);
          // Not during a re-initialisation (another request's device error): the retry's calls
          // would race its C_Finalize.
          if (!lost || attempt > 0 || this.gen !== gen || this.resetting) throw err;
          if (err.ckr === CKR.USER_NOT_LOGGED_IN) await this.relogin(gen, epoch);
        }
      }
    } finally {
      this.healthRunning = false;
    }
  }

  /** Starts a library re-initialisation once; requests fail fast while it runs. */
  private scheduleReset(cause: HsmError): void {
    if (this.resetting || this.closed) return;
    this.opts.onEvent?.("error", `HSM device error (${cause.message}); re-initialising the PKCS#11 library`);
    this.resetting = this.reset().finally(() => {
      if (!this.stuck) this.resetting = undefined;
    });
  }

  /**
   * C_Finalize and C_Initialize again, then the token, login, pool and health key anew. Waits until
   * no call is queued or inside the library before C_Finalize (a hung call keeps its thread), for
   * up to resetWaitMs (then onUnrecoverable, and requests fail fast for good); retries with
   * back-off while the HSM stays unusable.
   */
  private async reset(): Promise<void> {
    const old = this.gen;
    old.pool.close(new HsmError("internal", "the HSM is being re-initialised after a device error"), false);
    this.keys.clear();
    this.ivs.clear();
    // pending(), not inFlight(): a task submitted before the reset but still queued for a worker
    // thread would otherwise run after C_Finalize, or after the next C_Initialize on a session
    // handle number the new initialisation may have reused.
    const limit = this.opts.resetWaitMs;
    for (let waited = 0; this.lib.pending() > 0; waited += 50) {
      if (this.closed) return;
      if (limit !== undefined && waited >= limit) {
        // C_Finalize under a running call is undefined, and the call may never return: keep
        // failing fast (`resetting` stays set) and let the caller replace the process.
        this.stuck = true;
        this.opts.onUnrecoverable?.(`${this.lib.pending()} PKCS#11 call(s) still queued or inside the library ${waited} ms after a device error; the library cannot be re-initialised in this process`);
        return;
      }
      if (waited === 1000) this.opts.onEvent?.("warn", `waiting for ${this.lib.pending()} PKCS#11 call(s) queued or inside the library before C_Finalize`);
      await sleep(50);
    }
    await this.lib.finalize().catch(() => undefined);
    let last = "";
    for (let delay = 250; !this.closed; delay = Math.min(delay * 2, 4_000)) {
      try {
        const { slot, token } = await initToken(this.lib, this.opts.modulePath, this.opts.tokenLabel);
        this.gen = await Pkcs11Hsm.startGeneration(this.lib, this.opts, slot, token);
        this.opts.onEvent?.("info", "PKCS#11 library re-initialised");
        return;
      } catch (err) {
        const why = (err as Error).message;
        if (why !== last) this.opts.onEvent?.("error", `HSM re-initialisation failed (${why}); retrying`);
        last = why;
        await finalizeWhenIdle(this.lib);
        await sleep(delay);
      }
    }
  }

  /** Health of the library right now, without a round trip: sessions, waiters, calls inside, reset state. */
  stats(): HsmStats {
    const p = this.gen.pool;
    return { sessions: p.size(), inUse: p.inUse, waiting: p.waiting(), inFlight: this.lib.inFlight(), resetting: this.resetting !== undefined };
  }

  async close(): Promise<void> {
    this.closed = true;
    const gen = this.gen;
    gen.pool.close(new HsmError("internal", "the proxy is shutting down"));
    // Stuck (see reset): the sessions in use are those of the calls that never came back, and
    // C_Finalize would run under them; the process is ending, which is what recovers.
    if (this.stuck) return;
    for (let waited = 0; gen.pool.inUse > 0 && waited < 5000; waited += 10) await sleep(10);
    if (gen.health) await this.lib.closeSession(gen.health.session).catch(() => undefined);
    await this.lib.closeSession(gen.anchor).catch(() => undefined);
    await finalizeWhenIdle(this.lib);
  }
}

/**
 * C_Finalize once no call is inside the library (a hung call would be torn down under it) nor
 * queued (the pool's C_CloseSession calls, which pool.close() does not wait for, would run on other
 * threads during it). PKCS#11 leaves C_Finalize undefined while other threads make calls; with
 * SoftHSM a start-up failure then aborted the process at exit now and then ("tcache_thread_shutdown():
 * unaligned tcache chunk detected", a few runs in 100 under CPU load). After `maxMs` with calls
 * still pending, it skips C_Finalize.
 */
async function finalizeWhenIdle(lib: NativeLibrary, maxMs = 2000): Promise<void> {
  for (let waited = 0; lib.pending() > 0 && waited < maxMs; waited += 10) await sleep(10);
  if (lib.pending() === 0) await lib.finalize().catch(() => undefined);
}

const DESCRIBED = [CKA_KEY_TYPE, CKA_VALUE_LEN, ...USAGES.map(([type]) => type)];

/** The keySpec and usages GetKeyMetadata reports (reference derivation); without `label`, CKA_LABEL is read in the same call. */
async function describeKey(lib: NativeLibrary, session: number, h: number, label?: string): Promise<KeyInfo> {
  const values = await lib.getAttributes(session, h, label === undefined ? [...DESCRIBED, CKA_LABEL] : DESCRIBED);
  const ulong = (b: Buffer | null | undefined) => (b && b.length === 8 ? readUlong(b) : 0);
  const keyType = ulong(values[0]);
  const bits = ulong(values[1]) * 8;
  const name = KEY_TYPES[keyType] ?? `0x${keyType.toString(16)}`;
  const keyUsage = USAGES.filter((_, i) => values[i + 2]?.[0] === 1).map(([, n]) => n);
  return { label: label ?? values[DESCRIBED.length]?.toString("utf8") ?? "", keySpec: `${name}_${bits}`, keyUsage };
}

async function gcmDecrypt(lib: NativeLibrary, session: number, key: number, ct: Buffer, iv: Buffer, tag: Buffer, aad: Buffer): Promise<Buffer> {
  // SoftHSM needs room for ciphertext + tag even though only the plaintext is written.
  return lib.decryptGcm(session, key, iv, aad, Buffer.concat([ct, tag]), ct.length + TAG_LENGTH);
}

