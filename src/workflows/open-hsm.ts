/** Opens the PKCS#11 HSM described by the settings' [pkcs11] and [hsm_capabilities] tables. */
import path from "node:path";
import type { Settings } from "../config/types.js";
import type { Hsm, HsmOperation } from "../hsm/types.js";
import { ivModeOf } from "../hsm/pkcs11/gcm.js";
import { Pkcs11Hsm } from "../hsm/pkcs11/pkcs11-hsm.js";

/** Exports [pkcs11_logger] keys as environment variables (an existing variable wins), as the reference does. */
export function exportLoggerEnv(settings: Settings, env: NodeJS.ProcessEnv = process.env): void {
  const l = settings.pkcs11_logger;
  if (!l) return;
  for (const [k, v] of Object.entries(l)) if (env[k] === undefined) env[k] = v;
}

/** Opens the HSM: loads the library, finds the token, logs in, pre-opens the session pool. */
export async function openHsm(
  settings: Settings,
  opts: {
    onEvent?: (level: "info" | "warn" | "error", message: string) => void;
    /** The library cannot be re-initialised in this process (Pkcs11HsmOptions.onUnrecoverable). */
    onUnrecoverable?: (message: string) => void;
    onOperation?: (operation: HsmOperation, seconds: number, ok: boolean) => void;
    /** `serve` with fewer workers than CPUs (see Pkcs11HsmOptions.cpuToSpare). */
    cpuToSpare?: boolean;
  } = {},
): Promise<Hsm> {
  exportLoggerEnv(settings);
  const p = settings.pkcs11;
  // SoftHSM key stores made by `xksctl init --backend softhsm` name their token's config; the
  // library reads SOFTHSM2_CONF when it loads, so set it first (relative to the settings file).
  if (p.softhsm2_conf) process.env.SOFTHSM2_CONF = path.resolve(path.dirname(settings.file), p.softhsm2_conf);
  return Pkcs11Hsm.open({
    modulePath: p.PKCS11_HSM_MODULE,
    pin: p.user_pin,
    tokenLabel: p.token_label,
    poolSize: p.session_pool_max_size,
    waitMs: p.session_wait_milli,
    ivMode: ivModeOf(settings.hsm_capabilities),
    eagerClose: p.session_eager_close,
    operationTimeoutMs: p.operation_timeout_milli,
    openTimeoutMs: p.open_timeout_milli,
    resetWaitMs: p.reset_wait_milli,
    cpuToSpare: opts.cpuToSpare,
    onEvent: opts.onEvent,
    onUnrecoverable: opts.onUnrecoverable,
    onOperation: opts.onOperation,
  });
}
