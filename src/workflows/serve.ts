/**
 * `serve`: the logger, the HSM opened from the settings (library loaded, token found, user logged
 * in, sessions opened — before anything listens), then the proxy on that HSM.
 */
import type { Settings } from "../config/types.js";
import type { CallMode } from "../hsm/types.js";
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
  callMode?: CallMode;
}

/** Starts the proxy; `stopped` resolves after a signal-initiated shutdown. */
export async function serve(settings: Settings, opts: ServeOptions): Promise<{ stopped: Promise<void>; port: number }> {
  const logger = createLogger(settings.tracing, opts.stdout);
  let hsm;
  try {
    hsm = await openHsm(settings, { callMode: opts.callMode, onEvent: hsmEventLogger(logger) });
  } catch (err) {
    await logger.close();
    throw err;
  }
  return startProxy(settings, { hsm, logger, port: opts.port, pingPort: opts.pingPort, reloadSettings: opts.reloadSettings, now: opts.now });
}
