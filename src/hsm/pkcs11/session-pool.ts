/**
 * A pool of PKCS#11 sessions of one slot, one operation in flight per session. Sessions are opened
 * through the native driver (never on the event loop); the user login is the token's, made once by
 * the HSM layer. Taking a session waits in FIFO order up to a deadline, then fails with kind
 * "throttled" (429): KMS gives up after 250 ms, so queueing longer only produces late answers.
 * A dropped session is closed in the background and replaced when a request needs one.
 */
import { HsmError } from "../types.js";
import type { NativeLibrary } from "./native.js";

/** A pooled session. */
export interface PooledSession {
  handle: number;
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
  /** Turns a failed C_OpenSession into the error the request gets. */
  openError(err: unknown): Error;
}

/** Opens and lends the sessions of one slot for one initialisation of the library. */
export class SessionPool {
  private free: PooledSession[] = [];
  private waiters: Waiter[] = [];
  /** Sessions open or being opened. */
  private total = 0;
  private closed = false;
  /** False once closed for a library reset: the handles died with C_Finalize and may be reused by the next initialisation. */
  private closeOnRelease = true;
  /** Sessions currently lent out. */
  inUse = 0;

  constructor(
    private lib: NativeLibrary,
    private slot: number,
    private opts: PoolOptions,
  ) {}

  /** Opens `n` sessions now (in parallel), so the first requests do not pay for them; rejects on the first failure. */
  async prewarm(n: number): Promise<void> {
    const count = Math.min(n, this.opts.maxSize - this.total);
    this.total += count;
    const results = await Promise.allSettled(Array.from({ length: count }, () => this.lib.openSession(this.slot)));
    for (const r of results) {
      if (r.status === "fulfilled") this.free.push({ handle: r.value });
      else this.total--;
    }
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /** Lends a session, opening one when the pool has room, else waiting up to waitMs. */
  acquire(): Promise<PooledSession> {
    if (this.closed) return Promise.reject(new HsmError("internal", "HSM session pool is closed"));
    const s = this.free.pop();
    if (s) {
      this.inUse++;
      return Promise.resolve(s);
    }
    if (this.total < this.opts.maxSize) return this.openLent();
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

  /** Opens a session that is lent at once. */
  private async openLent(): Promise<PooledSession> {
    this.total++;
    this.inUse++;
    try {
      return { handle: await this.lib.openSession(this.slot) };
    } catch (err) {
      this.total--;
      this.inUse--;
      throw this.opts.openError(err);
    }
  }

  /**
   * Returns a session; `drop` closes it instead of reusing it. After close(…, false) (a library
   * reset) a returned session is never closed: its handle number may belong to a session of the
   * re-initialised library.
   */
  release(s: PooledSession, drop = false): void {
    this.inUse--;
    if (drop || this.closed) {
      this.total--;
      if (this.closeOnRelease) void this.lib.closeSession(s.handle).catch(() => undefined);
      const next = this.waiters.shift();
      if (next && !this.closed) {
        clearTimeout(next.timer);
        this.openLent().then(next.resolve, next.reject);
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

  /**
   * Closes every idle session (in the background): after one session turned out stale, the idle
   * ones most likely went with it (a hardserver restart, an appliance that reaps idle sessions), and
   * a retry must not take one of them. Returns how many.
   */
  dropIdle(): number {
    const idle = this.free.splice(0);
    this.total -= idle.length;
    if (this.closeOnRelease) for (const s of idle) void this.lib.closeSession(s.handle).catch(() => undefined);
    return idle.length;
  }

  /** Number of sessions open or being opened (free + lent). */
  size(): number {
    return this.total;
  }

  /** Waiters for a session right now. */
  waiting(): number {
    return this.waiters.length;
  }

  /**
   * Rejects waiters and, when `closeSessions`, closes every free session and each lent one when it
   * is released; without it (a library reset) sessions are only forgotten.
   */
  close(reason: Error, closeSessions = true): void {
    this.closed = true;
    this.closeOnRelease = closeSessions;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(reason);
    }
    this.dropIdle();
  }
}
