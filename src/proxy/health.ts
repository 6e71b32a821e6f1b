/**
 * GetHealthStatus as a deep check (xks-api.md §5.4): a real encrypt/decrypt in the HSM with a
 * session key no KMS key uses. The check runs in the background — every HEALTH_REFRESH_MS while
 * ACTIVE, every HEALTH_RETRY_MS otherwise, so a recovered HSM is ACTIVE again by itself — and KMS's
 * poll is answered from the last result (the spec allows one up to 60 s old). Only the very first
 * poll waits for a check. State changes are reported once, not every failed check.
 */
import { isHsmError, type Hsm } from "../hsm/types.js";
import { VERSION } from "../version.js";

/** The health response body. */
export interface HealthBody {
  xksProxyFleetSize: number;
  xksProxyVendor: string;
  xksProxyModel: string;
  ekmVendor: string;
  ekmFleetDetails: { id: string; model: string; healthStatus: HealthState }[];
}

/** What the ekmFleetDetails entry says. */
export type HealthState = "ACTIVE" | "DEGRADED" | "UNAVAILABLE";

/** A result older than this is checked again, in the background, when KMS polls (the spec allows 60 s). */
export const HEALTH_TTL_MS = 30_000;
/** Background check interval while ACTIVE. */
export const HEALTH_REFRESH_MS = 10_000;
/** Background check interval while DEGRADED or UNAVAILABLE. */
export const HEALTH_RETRY_MS = 2_000;
/** A check slower than this reports DEGRADED (KMS's own deadline is 250 ms). */
export const HEALTH_SLOW_MS = 100;
/** A check that has not finished by then reports UNAVAILABLE. */
export const HEALTH_TIMEOUT_MS = 2_000;

/** One HSM module behind the token (nShield load sharing: several), as the HSM's own tools report it. */
export interface EkmModule {
  id: string;
  model: string;
  usable: boolean;
}

/** Timing of the monitor (tests shorten it). */
export interface HealthTiming {
  refreshMs: number;
  retryMs: number;
  timeoutMs: number;
}

/** The timing for a [pkcs11] health_check_interval_milli. */
export function healthTiming(intervalMs: number): Partial<HealthTiming> {
  return { refreshMs: intervalMs, retryMs: Math.min(HEALTH_RETRY_MS, intervalMs) };
}

/** Runs the deep check in the background and keeps the last result. */
export class HealthMonitor {
  private cached?: { at: number; status: HealthState; reason?: string };
  private inFlight?: Promise<void>;
  private timer?: NodeJS.Timeout;
  /** The running check's timeout. */
  private checkTimer?: NodeJS.Timeout;
  private stopped = false;
  private readonly timing: HealthTiming;
  /** Number of deep checks run (for tests and metrics). */
  checks = 0;

  constructor(
    private hsm: Hsm,
    private fleetSize: number,
    private now: () => number,
    /** Called when the state changes (and for the first result), with the reason of a failure. */
    private onChange?: (status: HealthState, reason: string | undefined, previous: HealthState | undefined) => void,
    timing: Partial<HealthTiming> = {},
    /** The modules behind the token, when the HSM's tools can tell (read in the background). */
    private modules?: () => EkmModule[] | undefined,
  ) {
    this.timing = { refreshMs: HEALTH_REFRESH_MS, retryMs: HEALTH_RETRY_MS, timeoutMs: HEALTH_TIMEOUT_MS, ...timing };
  }

  /** The health body from the last result; only the first poll waits for a check. */
  async status(): Promise<HealthBody> {
    if (!this.cached) await this.runCheck();
    else if (this.now() - this.cached.at >= HEALTH_TTL_MS) void this.runCheck();
    const token = this.hsm.token();
    return {
      xksProxyFleetSize: this.fleetSize,
      xksProxyVendor: "xksctl",
      xksProxyModel: `xksctl ${VERSION} (Node.js ${process.versions.node}, PKCS#11)`,
      ekmVendor: `${token.manufacturerId} (serial number: ${token.serialNumber})`,
      ekmFleetDetails: this.fleetDetails(token),
    };
  }

  /** One entry per module when they are known (a module its tools call unusable is UNAVAILABLE), else one for the token. */
  private fleetDetails(token: ReturnType<Hsm["token"]>): HealthBody["ekmFleetDetails"] {
    const state = this.cached!.status;
    const modules = this.modules?.();
    if (modules && modules.length > 0) return modules.map((m) => ({ id: m.id, model: m.model, healthStatus: m.usable ? state : "UNAVAILABLE" }));
    return [{ id: token.label, model: `${token.model} (firmware version: ${token.firmwareVersion}, hardware version: ${token.hardwareVersion})`, healthStatus: state }];
  }

  /** The last state, without a check (undefined before the first one). */
  state(): HealthState | undefined {
    return this.cached?.status;
  }

  /** Starts the background checks (idempotent); the first check runs now. */
  start(): void {
    if (this.stopped || this.timer || this.inFlight) return;
    void this.runCheck();
  }

  /** Stops the background checks (shutdown). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    // A check hung in the HSM must not hold a stopping process until its timeout.
    clearTimeout(this.checkTimer);
  }

  /** One check at a time; schedules the next one when done. */
  private runCheck(): Promise<void> {
    this.inFlight ??= this.check().finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
    return this.inFlight;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const wait = this.cached?.status === "ACTIVE" ? this.timing.refreshMs : this.timing.retryMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runCheck();
    }, wait);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    this.checks++;
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let next: { status: HealthState; reason?: string };
    try {
      await Promise.race([
        this.hsm.selfTest(),
        new Promise((_, reject) => {
          timer = this.checkTimer = setTimeout(() => reject(new Error(`no answer within ${this.timing.timeoutMs} ms`)), this.timing.timeoutMs);
        }),
      ]);
      const took = Date.now() - started;
      next = took > HEALTH_SLOW_MS ? { status: "DEGRADED", reason: `the check took ${took} ms` } : { status: "ACTIVE" };
    } catch (err) {
      // Busy (no session free in time) still serves: DEGRADED, not UNAVAILABLE.
      const busy = isHsmError(err) && err.kind === "throttled";
      next = { status: busy ? "DEGRADED" : "UNAVAILABLE", reason: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
    if (this.stopped) return; // after "stopped" in the log, nothing more is reported
    const previous = this.cached?.status;
    this.cached = { at: this.now(), ...next };
    if (previous !== next.status) this.onChange?.(next.status, next.reason, previous);
  }
}
