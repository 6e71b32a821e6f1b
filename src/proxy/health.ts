/**
 * GetHealthStatus as a deep check (xks-api.md §5.4): a real encrypt/decrypt in the HSM with a
 * session key no KMS key uses. The result is cached for 30 s (the spec allows up to 60 s), and
 * concurrent requests share one check in flight.
 */
import { isHsmError, type Hsm } from "../hsm/types.js";
import { VERSION } from "../version.js";

/** The health response body. */
export interface HealthBody {
  xksProxyFleetSize: number;
  xksProxyVendor: string;
  xksProxyModel: string;
  ekmVendor: string;
  ekmFleetDetails: { id: string; model: string; healthStatus: "ACTIVE" | "DEGRADED" | "UNAVAILABLE" }[];
}

/** Cache lifetime of a check, ms. */
export const HEALTH_TTL_MS = 30_000;
/** A check slower than this reports DEGRADED (KMS's own deadline is 250 ms). */
export const HEALTH_SLOW_MS = 100;
/** A check that has not finished by then reports UNAVAILABLE. */
export const HEALTH_TIMEOUT_MS = 2_000;

/** Runs and caches the deep check. */
export class HealthMonitor {
  private cached?: { at: number; status: "ACTIVE" | "DEGRADED" | "UNAVAILABLE"; reason?: string };
  private inFlight?: Promise<void>;
  /** Number of deep checks run (for tests and metrics). */
  checks = 0;

  constructor(
    private hsm: Hsm,
    private fleetSize: number,
    private now: () => number,
    private onFailure?: (reason: string) => void,
  ) {}

  /** The current health body; runs a check when the cached one is older than HEALTH_TTL_MS. */
  async status(): Promise<HealthBody> {
    const t = this.now();
    if (!this.cached || t - this.cached.at >= HEALTH_TTL_MS) {
      this.inFlight ??= this.check().finally(() => (this.inFlight = undefined));
      await this.inFlight;
    }
    const token = this.hsm.token();
    return {
      xksProxyFleetSize: this.fleetSize,
      xksProxyVendor: "xksctl",
      xksProxyModel: `xksctl ${VERSION} (Node.js ${process.versions.node}, PKCS#11)`,
      ekmVendor: `${token.manufacturerId} (serial number: ${token.serialNumber})`,
      ekmFleetDetails: [
        {
          id: token.label,
          model: `${token.model} (firmware version: ${token.firmwareVersion}, hardware version: ${token.hardwareVersion})`,
          healthStatus: this.cached!.status,
        },
      ],
    };
  }

  private async check(): Promise<void> {
    this.checks++;
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.hsm.selfTest(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
        }),
      ]);
      const took = Date.now() - started;
      this.cached = { at: this.now(), status: took > HEALTH_SLOW_MS ? "DEGRADED" : "ACTIVE" };
    } catch (err) {
      const reason = (err as Error).message;
      this.onFailure?.(reason);
      // Busy (no session free in time) still serves: DEGRADED, not UNAVAILABLE.
      const busy = isHsmError(err) && err.kind === "throttled";
      this.cached = { at: this.now(), status: busy ? "DEGRADED" : "UNAVAILABLE", reason };
    } finally {
      clearTimeout(timer);
    }
  }
}
