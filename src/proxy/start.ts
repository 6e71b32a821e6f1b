/**
 * Starts the proxy for `serve` on an opened HSM (workflows/serve.ts opens it before listening, so
 * a wrong library path or PIN is a start-up error): listeners, and signal handling:
 * SIGTERM/SIGINT drain in-flight requests and close the HSM sessions; SIGHUP reloads settings.
 */
import type { Settings } from "../config/types.js";
import { isXksctlError } from "../errors.js";
import type { Hsm } from "../hsm/types.js";
import type { Logger } from "./log.js";
import { createProxyServer } from "./server.js";

/** Options of a started proxy. */
export interface StartOptions {
  hsm: Hsm;
  logger: Logger;
  port?: number;
  pingPort?: number;
  /** Re-reads and validates the settings file (SIGHUP). */
  reloadSettings: () => Settings;
  now: () => number;
}

/** Starts everything; `stopped` resolves after a signal-initiated shutdown. */
export async function startProxy(loaded: Settings, opts: StartOptions): Promise<{ stopped: Promise<void>; port: number }> {
  const settings: Settings = {
    ...loaded,
    server: { ...loaded.server, port: opts.port ?? loaded.server.port, port_http_ping: opts.pingPort ?? loaded.server.port_http_ping },
  };
  const { hsm, logger } = opts;
  const proxy = createProxyServer(settings, { hsm, logger, now: opts.now });
  let bound;
  try {
    bound = await proxy.listen();
  } catch (err) {
    await hsm.close();
    throw err;
  }
  const token = hsm.token();
  logger.log("INFO", "xksctl proxy listening", {
    address: `${settings.server.ip}:${bound.port}`,
    tls: settings.security.is_tls_enabled,
    mtls: settings.security.is_mtls_enabled,
    pingPort: bound.pingPort,
    token: token.label,
    stores: settings.external_key_stores.map((s) => s.uri_path_prefix),
    sessions: settings.pkcs11.session_pool_max_size,
  });
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log("INFO", "shutting down: draining in-flight requests", { signal });
    void (async () => {
      await proxy.close();
      await hsm.close();
      logger.log("INFO", "stopped");
      await logger.close();
      process.off("SIGHUP", hup);
      resolveStopped();
    })();
  };
  const hup = () => {
    try {
      const next = opts.reloadSettings();
      proxy.reload({ ...next, server: { ...next.server, port: settings.server.port, port_http_ping: settings.server.port_http_ping } });
      if (next.pkcs11.PKCS11_HSM_MODULE !== settings.pkcs11.PKCS11_HSM_MODULE || next.pkcs11.user_pin !== settings.pkcs11.user_pin || next.pkcs11.token_label !== settings.pkcs11.token_label) {
        logger.log("WARN", "settings reloaded, but [pkcs11] library, PIN or token changes need a restart");
      } else logger.log("INFO", "settings reloaded (key sets, credentials, TLS files)");
    } catch (err) {
      const detail = isXksctlError(err) ? [err.message, ...err.details].join("; ") : (err as Error).message;
      logger.log("ERROR", "settings reload failed; keeping the running settings", { detail });
    }
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", hup);
  return { stopped, port: bound.port };
}
