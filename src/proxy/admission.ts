/**
 * Admission control: decides, before a request's body is read or its signature checked, whether
 * the proxy takes it on or answers 429 ThrottlingException at once. Signals:
 * - the XKS requests being served (admitted, not yet answered) against [server] max_in_flight_requests;
 * - how far the event loop is behind, against [server] max_event_loop_delay_milli;
 * - how long admitted requests took from their body read to their answer, against [server]
 *   max_service_time_milli: a request over it waited for an HSM session (or for the loop) too long.
 * When the loop is seen behind or an answer is seen slow, the number admitted at once drops to the
 * HSM session count and then doubles at most every CONGESTION_MEMORY_MS, in periods where neither
 * is seen again, answers take on average at most half of max_service_time_milli and at least
 * half of the cap was in use, back to max_in_flight_requests (as TCP's slow start, and its window
 * kept after idle); a cap not in use is lifted CALM_RESET_MS after the last congestion. Requests
 * beyond the sessions only queue: a waiter is handed a session by the event loop, once per turn, so
 * under a flood every extra waiter waits whole turns, and admitting them makes every answer late,
 * the 429s included. At one per session the HSM is still kept busy (a slow network HSM loses no
 * throughput), and the rest get their 429 inside KMS's deadline instead of an answer after it.
 *
 * The delay comes from a cheap lag timer: a timer due every TICK_MS records when it ran, so
 * `now - lastTick - TICK_MS` (pauses left out, below) is how long the current turn of the event loop has kept the timer
 * waiting. A flood shows up as one long turn within its first burst: the requests read in that
 * turn after the limit is reached are refused, so the admitted work of a turn stays bounded and
 * the rest of the burst gets its 429 without waiting behind it. A process that was merely
 * descheduled runs its due timer first and is not penalised. Nor is a turn that a pause made long
 * (a full GC of V8 stops the loop for tens of ms, node:http2's header strings being freed only
 * there): a gap with neither a request, an answer nor a run of the lag timer in it, longer than
 * PAUSE_GAP_MS, is a pause of the loop, not work and not the HSM's slowness. It is
 * left out of the delay and out of every service time, so neither the pause nor its backlog, read
 * after it, is taken for a flood or for a slow HSM. A flood's first turn sees hundreds of
 * requests, each a fraction of a ms after the last, before its delay passes the limit. The loop
 * delay alone misses a flood that is spread over many short turns (the requests then wait in the
 * sockets, not in one turn); the service time sees it, as the admitted requests' wait for a session.
 */
import { performance } from "node:perf_hooks";

/** How often the lag timer runs. */
export const TICK_MS = 10;

/**
 * A gap this long with no request, no answer and no run of the lag timer is a pause of the loop (a
 * GC, the host), not work: twice the timer's period, since a loop that runs, busy or idle, sees its
 * timer at least once a period. Not max_event_loop_delay_milli: a Mark-Compact under KMS's 1800
 * req/s paused 13-32 ms, and such a pause plus the few ms of its backlog passed a 40 ms limit, so
 * the backlog was refused, and the cap it lowered refused hundreds more (docs/performance-history.md,
 * "A pause of the loop is a gap over 20 ms").
 */
export const PAUSE_GAP_MS = 2 * TICK_MS;

/** The limits (from [server], and the HSM session count of [pkcs11]). */
export interface AdmissionLimits {
  maxInFlight: number;
  maxLoopDelayMs: number;
  /** An admitted request's body read to its answer, ms, over which the proxy counts as congested. */
  maxServiceMs: number;
  /** In flight while congested: the HSM sessions. */
  congestedInFlight: number;
}

/** After congestion, the admission cap doubles at most once per this interval. */
export const CONGESTION_MEMORY_MS = 200;

/** A cap not in use is lifted this long after the last congestion (a pulsed flood's pauses are shorter). */
export const CALM_RESET_MS = 10_000;

/** Why a request was refused, or undefined when admitted. */
export type Refusal = "in-flight" | "event-loop" | "congested" | undefined;

/** What last lowered the cap. */
type Congestion = "event-loop" | "service-time";

/** The [server] setting whose limit a refusal enforced: named in the log line and in the metrics' `limit` label. */
export type RefusalLimit = "max_in_flight_requests" | "max_event_loop_delay_milli" | "max_service_time_milli";

/** Counts admitted requests and measures the event-loop delay. */
export class Admission {
  /** The tickets of the requests in flight (a ticket is released once): when each began to be served, on the clock that stops in pauses (clock() - paused); NaN before. */
  private admitted = new Map<number, number>();
  private nextId = 0;
  /** When the lag timer last ran, on the clock that stops in pauses (clock() - paused). */
  private lastTick: number;
  /** When the last request or answer was seen, or the lag timer ran, whichever was later. */
  private lastSeenAt: number;
  /** The pauses of the loop seen so far, ms in all: `clock() - paused` is a clock that stops in them. */
  private paused = 0;
  /** The cap on admitted requests after congestion; Infinity when none has been seen lately. */
  private cap = Infinity;
  private capGrownAt = 0;
  /** When the cap was last lowered. */
  private congestedAt = 0;
  private congestion: Congestion = "event-loop";
  /** The service times answered since the cap last changed or held: their sum (ms) and count. */
  private servedMsInPeriod = 0;
  private answeredInPeriod = 0;
  /** The most requests in flight at once since then (the cap when one was refused for it). */
  private peakInPeriod = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private limits: AdmissionLimits,
    private clock: () => number = () => performance.now(),
  ) {
    this.lastTick = this.lastSeenAt = clock();
  }

  /** Starts the lag timer (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records a run of the lag timer (public for tests with a fake clock). */
  tick(): void {
    const now = this.clock();
    this.lastTick = now - this.paused;
    this.lastSeenAt = now;
  }

  /** New limits (SIGHUP). */
  setLimits(limits: AdmissionLimits): void {
    this.limits = limits;
  }

  /** Requests admitted and not yet released. */
  get inFlight(): number {
    return this.admitted.size;
  }

  /**
   * Notes activity: a gap this long with none, not even a run of the lag timer, was a pause of the
   * loop (a GC, the host), not the load's work: the delay and the service times leave it out.
   */
  private seen(now: number): void {
    const gap = now - this.lastSeenAt;
    // Without the lag timer an idle spell is a gap too, so pauses are told only while it runs.
    if (this.timer && gap > PAUSE_GAP_MS) this.paused += gap;
    this.lastSeenAt = now;
  }

  /** How far the event loop is behind now, ms: how long the lag timer has been kept waiting. */
  private loopDelayMs(now: number): number {
    if (!this.timer) return 0;
    return Math.max(0, now - this.paused - this.lastTick - TICK_MS);
  }

  /**
   * Admits a request, returning the ticket to release exactly once, or says why not (a string).
   * The refusal path allocates nothing.
   */
  tryAdmit(): number | NonNullable<Refusal> {
    const now = this.clock();
    this.seen(now);
    if (this.admitted.size >= this.limits.maxInFlight) return "in-flight";
    if (this.loopDelayMs(now) > this.limits.maxLoopDelayMs) {
      this.congested("event-loop", now);
      return "event-loop";
    }
    if (this.cap !== Infinity) {
      if (now - this.capGrownAt >= CONGESTION_MEMORY_MS) this.nextPeriod(now);
      if (this.admitted.size >= this.cap) {
        this.peakInPeriod = this.cap;
        return "congested";
      }
    }
    const id = this.nextId++;
    this.admitted.set(id, NaN);
    if (this.admitted.size > this.peakInPeriod) this.peakInPeriod = this.admitted.size;
    return id;
  }

  /** The cap drops to one per HSM session, and its doubling starts again from now. */
  private congested(why: Congestion, now: number): void {
    this.cap = this.limits.congestedInFlight;
    this.capGrownAt = now;
    this.congestedAt = now;
    this.congestion = why;
    this.startPeriod(0);
  }

  /** A new period of the lowered cap: its service samples and its peak start again. */
  private startPeriod(peak: number): void {
    this.servedMsInPeriod = 0;
    this.answeredInPeriod = 0;
    this.peakInPeriod = peak;
  }

  /**
   * A period of the lowered cap has passed (called at the first admission after it): doubling what
   * is in flight can double the service time (the extra requests queue for sessions), so the cap
   * doubles only while the period's mean service, answered or still in flight, is within half the
   * limit (any one over the limit lowers it again), and only when at least half of the cap was in
   * use. The mean, not the slowest: a saturated closed loop (KMS's fleet at the proxy's capacity)
   * whose refused requests come straight back keeps the loop busy with their 429s, so a held cap
   * keeps its slowest answers over half the limit and never grows back, serving a fraction of what
   * it could (docs/performance-history.md, "Shedding at saturation"). Admitted requests that queue for the
   * HSM sessions (a flood, a slow HSM) are all slow, and their mean shows it as the slowest did.
   * And a cap that was not used has not shown that the proxy can take more (a quiet spell after a
   * flood does not reopen the door for the next one, as TCP's window after idle, RFC 7661). A cap
   * not in use is lifted once CALM_RESET_MS have passed without congestion, so traffic that grows
   * later is not held back by one old hiccup. Over the limit it drops again; otherwise it holds.
   */
  private nextPeriod(now: number): void {
    let sum = this.servedMsInPeriod;
    let n = this.answeredInPeriod;
    const work = now - this.paused;
    for (const since of this.admitted.values()) {
      const age = work - since; // NaN: body still arriving, no sample
      if (age > this.limits.maxServiceMs) return this.congested("service-time", now);
      if (age >= 0) {
        sum += age;
        n++;
      }
    }
    if (n === 0 || sum / n <= this.limits.maxServiceMs / 2) {
      if (this.peakInPeriod * 2 >= this.cap) this.cap = this.cap * 2 >= this.limits.maxInFlight ? Infinity : this.cap * 2;
      else if (now - this.congestedAt >= CALM_RESET_MS) this.cap = Infinity;
    }
    this.capGrownAt = now;
    this.startPeriod(this.admitted.size);
  }

  /** The request's body is read: its service time starts (the client's sending is not the proxy's delay). */
  serving(ticket: number): void {
    if (!this.admitted.has(ticket)) return;
    const now = this.clock();
    this.seen(now);
    this.admitted.set(ticket, now - this.paused);
  }

  /** The setting a refusal enforced; for "congested", the one whose signal lowered the cap. */
  limitOf(refusal: NonNullable<Refusal>): RefusalLimit {
    switch (refusal) {
      case "in-flight":
        return "max_in_flight_requests";
      case "event-loop":
        return "max_event_loop_delay_milli";
      case "congested":
        return this.congestion === "event-loop" ? "max_event_loop_delay_milli" : "max_service_time_milli";
    }
  }

  /**
   * A refusal in words, for the log, which writes it up to a second later: `setting` is the key
   * that refused, taken at refusal time (limitOf), and nothing in the text is a count of now.
   */
  describe(refusal: NonNullable<Refusal>, setting: RefusalLimit = this.limitOf(refusal)): string {
    switch (refusal) {
      case "in-flight":
        return `requests in flight at ${setting} = ${this.limits.maxInFlight}`;
      case "event-loop":
        return `event loop more than ${this.limits.maxLoopDelayMs} ms behind (${setting})`;
      case "congested": {
        const why = setting === "max_event_loop_delay_milli" ? `the event loop was more than ${this.limits.maxLoopDelayMs} ms behind (${setting})` : `an answer took over ${this.limits.maxServiceMs} ms after its body (${setting})`;
        return `requests in flight at the lowered cap since ${why} (the cap starts at one per HSM session and doubles at most every ${CONGESTION_MEMORY_MS} ms, while in use and answers are in time)`;
      }
    }
  }

  /** The request is answered (or abandoned): a service time over the limit lowers the cap. */
  release(ticket: number): void {
    const since = this.admitted.get(ticket);
    if (since === undefined) return;
    this.admitted.delete(ticket);
    const now = this.clock();
    this.seen(now);
    const served = now - this.paused - since; // NaN when never served (the body did not arrive): compares false
    if (served > this.limits.maxServiceMs) this.congested("service-time", now);
    else if (served >= 0) {
      this.servedMsInPeriod += served;
      this.answeredInPeriod++;
    }
  }
}
