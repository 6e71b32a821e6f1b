/**
 * A pool of logged-in PKCS#11 sessions, one operation in flight per session. Taking a session
 * waits in FIFO order up to a deadline, then fails with kind "throttled" (429): KMS gives up
 * after 250 ms, so queueing longer only produces late answers (platform-notes.md §9).
 */
import pkcs11js from "pkcs11js";
import { XksctlError } from "../../errors.js";
import { CKR, ckrName } from "./ckr.js";
import { HsmError } from "../types.js";

/** A pooled session; `generation` ties it to one library initialisation. */
export interface PooledSession {
  handle: pkcs11js.Handle;
  generation: number;
}

interface Waiter {
  resolve(s: PooledSession): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** Options of the pool. */
export interface PoolOptions {
  /** Sessions kept at most (session_pool_max_size). */
  maxSize: number;
  /** Max wait for a session, ms (session_wait_milli). */
  waitMs: number;
  pin: string;
}

/** Opens and lends sessions of one slot. */
export class SessionPool {
  private free: PooledSession[] = [];
  private waiters: Waiter[] = [];
  private total = 0;
  private closed = false;
  /** Sessions currently lent out. */
  inUse = 0;

  constructor(
    private p: pkcs11js.PKCS11,
    private slot: pkcs11js.Handle,
    private opts: PoolOptions,
    readonly generation: number,
  ) {}

  /** Opens one session and logs in; a wrong PIN becomes XKS_HSM_LOGIN. */
  open(): PooledSession {
    const handle = this.p.C_OpenSession(this.slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      this.p.C_Login(handle, pkcs11js.CKU_USER, this.opts.pin);
    } catch (err) {
      const code = (err as { code?: number }).code ?? -1;
      if (code !== CKR.USER_ALREADY_LOGGED_IN) {
        try {
          this.p.C_CloseSession(handle);
        } catch {
          /* already unusable */
        }
        if (code === CKR.PIN_INCORRECT || code === CKR.PIN_LOCKED || code === 0xa1 /* CKR_PIN_INVALID */) {
          throw new XksctlError("XKS_HSM_LOGIN", `C_Login refused the user PIN: ${ckrName(code)}`);
        }
        throw new HsmError("internal", `C_Login returned ${ckrName(code)}`, code, "drop");
      }
    }
    this.total++;
    return { handle, generation: this.generation };
  }

  /** Opens `n` sessions now, so the first requests do not pay for them. */
  prewarm(n: number): void {
    for (let i = 0; i < n && this.total < this.opts.maxSize; i++) this.free.push(this.open());
  }

  /** Lends a session, waiting up to waitMs. */
  acquire(): Promise<PooledSession> {
    if (this.closed) return Promise.reject(new HsmError("internal", "HSM session pool is closed"));
    const s = this.free.pop() ?? (this.total < this.opts.maxSize ? this.open() : undefined);
    if (s) {
      this.inUse++;
      return Promise.resolve(s);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new HsmError("throttled", `no HSM session free within ${this.opts.waitMs} ms (pool of ${this.opts.maxSize})`));
        }, this.opts.waitMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Returns a session; `drop` closes it instead of reusing it. */
  release(s: PooledSession, drop = false): void {
    this.inUse--;
    if (drop || this.closed) {
      this.total--;
      try {
        this.p.C_CloseSession(s.handle);
      } catch {
        /* the session is gone either way */
      }
      const next = this.waiters.shift();
      if (next) {
        clearTimeout(next.timer);
        try {
          const fresh = this.open();
          this.inUse++;
          next.resolve(fresh);
        } catch (err) {
          next.reject(err as Error);
        }
      }
      return;
    }
    const next = this.waiters.shift();
    if (next) {
      clearTimeout(next.timer);
      this.inUse++;
      next.resolve(s);
    } else this.free.push(s);
  }

  /** Number of sessions open (free + lent). */
  size(): number {
    return this.total;
  }

  /** Rejects waiters and closes every free session; lent ones close when released. */
  close(reason: Error): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(reason);
    }
    for (const s of this.free.splice(0)) {
      this.total--;
      try {
        this.p.C_CloseSession(s.handle);
      } catch {
        /* ignore */
      }
    }
  }
}
