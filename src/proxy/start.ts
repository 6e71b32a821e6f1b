/**
 * Starts the proxy for `serve` on an opened HSM (workflows/serve.ts opens it before listening, so
 * a wrong library path or PIN is a start-up error): listeners, and signal handling:
 * SIGTERM/SIGINT drain in-flight requests and close the HSM sessions; SIGHUP reloads settings,
 * or refuses the whole file when it weakens security or needs a restart (reload-policy.ts).
 */
import type { Settings } from "../config/types.js";
import { XksctlError, isXksctlError } from "../errors.js";
import type { Hsm } from "../hsm/types.js";
import type { Logger } from "./log.js";
import type { EkmModule } from "./health.js";
import type { ProxyMetrics } from "./metrics.js";
import { caDigest, changedKeys, reloadRefusals } from "./reload-policy.js";
import { createProxyServer } from "./server.js";

/** Options of a started proxy. */
export interface StartOptions {
  hsm: Hsm;
  logger: Logger;
  metrics?: ProxyMetrics;
  ekmModules?: () => EkmModule[] | undefined;
  port?: number;
  pingPort?: number;
  /** Re-reads and validates the settings file (SIGHUP). */
  reloadSettings: () => Settings;
  now: () => number;
  /**
   * The digest of the mTLS client CA the service started with, for a worker started later: the
   * file is read here again and must still be that CA (a changed CA is refused on SIGHUP, so a new
   * worker must not load it either). Absent: this start is the service's start.
   */
  startCaDigest?: string;
}

/** Starts everything; `stopped` resolves after a shutdown (a signal, or `stop`). */
export async function startProxy(loaded: Settings, opts: StartOptions): Promise<{ stopped: Promise<void>; port: number; stop(reason: string): void }> {
  const settings: Settings = {
    ...loaded,
    server: { ...loaded.server, port: opts.port ?? loaded.server.port, port_http_ping: opts.pingPort ?? loaded.server.port_http_ping },
  };
  const { hsm, logger, metrics } = opts;
  if (opts.startCaDigest !== undefined && caDigest(loaded) !== opts.startCaDigest) {
    await hsm.close();
    throw new XksctlError("XKS_TLS_FILES", `[tls] mtls_client_ca_pem ${loaded.tls?.mtls_client_ca_pem} has changed since the service started; a new worker does not load a CA the running ones refuse`, {
      remedy: "Put the CA file back as it was, or restart the service (`systemctl restart xksctl`) to apply the new CA.",
    });
  }
  const proxy = createProxyServer(settings, { hsm, logger, now: opts.now, metrics, ekmModules: opts.ekmModules });
  metrics?.setSources({ health: () => proxy.health.state() });
  let bound;
  try {
    bound = await proxy.listen();
  } catch (err) {
    await hsm.close();
    throw err;
  }
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping = false;
  const stop = (why: { signal: string } | { reason: string }) => {
    if (stopping) return;
    stopping = true;
    logger.log("INFO", "shutting down: draining in-flight requests", why);
    void (async () => {
      await proxy.close();
      await hsm.close();
      logger.log("INFO", "stopped");
      await logger.close();
      process.off("SIGHUP", hup);
      resolveStopped();
    })();
  };
  // SIGHUP is all or nothing (src/proxy/reload-policy.ts): a file that weakens security or
  // changes what is read once at start-up is refused whole, with each key logged.
  let running = loaded;
  const runningCa = opts.startCaDigest ?? caDigest(loaded);
  const hup = () => {
    if (stopping) return; // draining: nothing to reload (the handler stays so that SIGHUP cannot kill the process)
    try {
      const next = opts.reloadSettings();
      const refused = reloadRefusals(running, next, runningCa);
      if (refused.length > 0) {
        for (const r of refused) logger.log("ERROR", "settings reload refused", { key: r.key, reason: r.reason });
        logger.log("ERROR", "settings reload refused; keeping the running settings", { keys: refused.map((r) => r.key) });
        metrics?.reload("refused");
        return;
      }
      proxy.reload({ ...next, server: { ...next.server, port: settings.server.port, port_http_ping: settings.server.port_http_ping } });
      logger.log("INFO", "settings reloaded (key sets, credentials, TLS files)", { changed: changedKeys(running, next) });
      metrics?.reload("applied");
      running = next;
    } catch (err) {
      const detail = isXksctlError(err) ? [err.message, ...err.details].join("; ") : (err as Error).message;
      logger.log("ERROR", "settings reload failed; keeping the running settings", { detail });
      metrics?.reload("failed");
    }
  };
  process.once("SIGTERM", () => stop({ signal: "SIGTERM" }));
  process.once("SIGINT", () => stop({ signal: "SIGINT" }));
  process.on("SIGHUP", hup);
  // Announced only now: whoever waits for this line may signal at once (SIGHUP's default is to exit).
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
  return { stopped, port: bound.port, stop: (reason) => stop({ reason }) };
}
