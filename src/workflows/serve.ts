/**
 * `serve`: the logger, the HSM opened from the settings (library loaded, token found, user logged
 * in, sessions opened — before anything listens), then the proxy on that HSM.
 */
import type { Settings } from "../config/types.js";
import { createLogger, hsmEventLogger } from "../proxy/log.js";
import { startProxy } from "../proxy/start.js";
import { openHsm } from "./open-hsm.js";

/** What `serve` takes besides the settings. */
export interface ServeOptions {
  port?: number;
  pingPort?: number;
  /** Re-reads and validates the settings file (SIGHUP). */
  reloadSettings: () => Settings;
  stdout: { write(s: string): void };
  now: () => number;
}

/** Starts the proxy; `stopped` resolves after a signal-initiated shutdown. */
export async function serve(settings: Settings, opts: ServeOptions): Promise<{ stopped: Promise<void>; port: number }> {
  const logger = createLogger(settings.tracing, opts.stdout);
  let hsm;
  try {
    hsm = await openHsm(settings, { onEvent: hsmEventLogger(logger) });
  } catch (err) {
    await logger.close();
    throw err;
  }
  const opened = hsm;
  // A reload may list keys that were deleted and made again under the same label: drop cached handles.
  const reloadSettings = () => {
    const next = opts.reloadSettings();
    opened.forgetKeyHandles();
    return next;
  };
  return startProxy(settings, { hsm, logger, port: opts.port, pingPort: opts.pingPort, reloadSettings, now: opts.now });
}
