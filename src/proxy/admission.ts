/**
 * Admission control: decides, before a request's body is read or its signature checked, whether
 * the proxy takes it on or answers 429 ThrottlingException at once. Signals:
 * - the XKS requests being served (admitted, not yet answered) against [server] max_in_flight_requests;
 * - how far the event loop is behind, against [server] max_event_loop_delay_milli.
 * When the loop is seen behind, the number admitted at once drops to the HSM session count and
 * then doubles every CONGESTION_MEMORY_MS while the loop keeps up, back to max_in_flight_requests
 * (as TCP's slow start): a request waiting for a session is handed one by the event loop, once per
 * turn, so under a flood every extra waiter waits whole turns, and a sudden full reopening would
 * let a burst of them in. Nothing else refuses: a slow HSM (a network HSM, 20 ms a call) makes
 * requests wait long without the proxy being overloaded, and a 429 there would fail the
 * customer's call for nothing.
 *
 * The delay comes from a cheap lag timer: a timer due every TICK_MS records when it ran, so
 * `now - lastTick - TICK_MS` is how long the current turn of the event loop has kept the timer
 * waiting. A flood shows up as one long turn within its first burst: the requests read in that
 * turn after the limit is reached are refused, so the admitted work of a turn stays bounded and
 * the rest of the burst gets its 429 without waiting behind it. A process that was merely
 * descheduled runs its due timer first and is not penalised.
 */
import { performance } from "node:perf_hooks";

/** How often the lag timer runs. */
export const TICK_MS = 10;

/** The limits (from [server], and the HSM session count of [pkcs11]). */
export interface AdmissionLimits {
  maxInFlight: number;
  maxLoopDelayMs: number;
  /** In flight while congested: the HSM sessions. */
  congestedInFlight: number;
}

/** After the loop was seen behind, the admission cap doubles once per this interval. */
export const CONGESTION_MEMORY_MS = 200;

/** Why a request was refused, or undefined when admitted. */
export type Refusal = "in-flight" | "event-loop" | "congested" | undefined;

/** Counts admitted requests and measures the event-loop delay. */
export class Admission {
  /** The tickets of the requests in flight (a ticket is released once). */
  private admitted = new Set<number>();
  private nextId = 0;
  private lastTick: number;
  /** The cap on admitted requests after congestion; Infinity when the loop keeps up. */
  private cap = Infinity;
  private capGrownAt = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private limits: AdmissionLimits,
    private clock: () => number = () => performance.now(),
  ) {
    this.lastTick = clock();
  }

  /** Starts the lag timer (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.timer) return;
    this.lastTick = this.clock();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records a run of the lag timer (public for tests with a fake clock). */
  tick(): void {
    this.lastTick = this.clock();
  }

  /** New limits (SIGHUP). */
  setLimits(limits: AdmissionLimits): void {
    this.limits = limits;
  }

  /** Requests admitted and not yet released. */
  get inFlight(): number {
    return this.admitted.size;
  }

  /** How far the event loop is behind now, ms: how long the lag timer has been kept waiting. */
  private loopDelayMs(): number {
    if (!this.timer) return 0;
    return Math.max(0, this.clock() - this.lastTick - TICK_MS);
  }

  /**
   * Admits a request, returning the ticket to release exactly once, or says why not (a string).
   * The refusal path allocates nothing.
   */
  tryAdmit(): number | NonNullable<Refusal> {
    if (this.admitted.size >= this.limits.maxInFlight) return "in-flight";
    const now = this.clock();
    if (this.loopDelayMs() > this.limits.maxLoopDelayMs) {
      this.cap = this.limits.congestedInFlight;
      this.capGrownAt = now;
      return "event-loop";
    }
    if (this.cap !== Infinity) {
      for (; now - this.capGrownAt >= CONGESTION_MEMORY_MS && this.cap !== Infinity; this.capGrownAt += CONGESTION_MEMORY_MS) {
        this.cap = this.cap * 2 >= this.limits.maxInFlight ? Infinity : this.cap * 2;
      }
      if (this.admitted.size >= this.cap) return "congested";
    }
    const id = this.nextId++;
    this.admitted.add(id);
    return id;
  }

  /** A refusal in words, for the log. */
  describe(refusal: NonNullable<Refusal>): string {
    switch (refusal) {
      case "in-flight":
        return `${this.admitted.size} requests in flight (max_in_flight_requests = ${this.limits.maxInFlight})`;
      case "event-loop":
        return `event loop more than ${this.limits.maxLoopDelayMs} ms behind (max_event_loop_delay_milli)`;
      case "congested":
        return `${this.admitted.size} requests in flight since the event loop was behind (the cap starts at one per HSM session and doubles every ${CONGESTION_MEMORY_MS} ms)`;
    }
  }

  release(ticket: number): void {
    this.admitted.delete(ticket);
  }
}
