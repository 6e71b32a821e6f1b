/**
 * Prometheus metrics of the proxy (prom-client), on a listener of their own that is off by default
 * and on loopback when on ([metrics] is_enabled, ip, port). With worker processes the primary
 * serves them, summed over the workers by prom-client's cluster aggregator; gauges that every
 * worker reports alike (certificate expiry) take the minimum.
 */
import http from "node:http";
import type net from "node:net";
import client from "prom-client";
import { XksctlError } from "../errors.js";
import type { HsmOperation } from "../hsm/types.js";
import type { RefusalLimit } from "./admission.js";

/** What the proxy reports and what it reads at scrape time. */
export interface ProxyMetrics {
  registry: client.Registry;
  /** One answered request: its operation, store, status and errorName ("" for success), and duration. */
  request(operation: string, store: string, status: number, errorName: string, seconds: number): void;
  /** One request refused by admission control (answered 429 before its body was read), by the setting whose limit refused it. */
  refused(limit: RefusalLimit): void;
  /** One HSM operation (all its PKCS#11 calls) and whether it succeeded. */
  hsmOperation(name: HsmOperation, seconds: number, ok: boolean): void;
  /** A SIGHUP: applied, refused (weakens security or needs a restart) or failed (the file is broken). */
  reload(outcome: "applied" | "refused" | "failed"): void;
  /** Scrape-time readings: sessions, waiters, health, certificate expiry. */
  setSources(sources: MetricSources): void;
}

/** Read when Prometheus scrapes. */
export interface MetricSources {
  sessions?: () => { open: number; inUse: number; waiting: number };
  health?: () => "ACTIVE" | "DEGRADED" | "UNAVAILABLE" | undefined;
  /** When the served TLS certificate expires, ms since the epoch (undefined when TLS is off). */
  certificateNotAfter?: () => number | undefined;
}

/** KMS gives each call 250 ms; the buckets resolve what happens inside that. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const STATES = ["ACTIVE", "DEGRADED", "UNAVAILABLE"] as const;

/** Creates the proxy's metrics on a registry of their own. */
export function createMetrics(): ProxyMetrics {
  const registry = new client.Registry();
  let sources: MetricSources = {};
  const requests = new client.Counter({
    name: "xksctl_requests_total",
    help: "XKS API requests answered, by operation, key store, HTTP status and XKS errorName (empty for success).",
    labelNames: ["operation", "store", "status", "error_name"] as const,
    registers: [registry],
  });
  const refusals = new client.Counter({
    name: "xksctl_requests_refused_total",
    help: "XKS API requests answered 429 ThrottlingException by admission control, before their body was read (also counted in xksctl_requests_total), by the [server] setting whose limit refused them.",
    labelNames: ["limit"] as const,
    registers: [registry],
  });
  const latency = new client.Histogram({
    name: "xksctl_request_duration_seconds",
    help: "Time from the request's arrival to its answer, by operation.",
    labelNames: ["operation"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const hsm = new client.Histogram({
    name: "xksctl_hsm_operation_duration_seconds",
    help: "Time of one HSM operation (its PKCS#11 calls, off the event loop), by operation and outcome.",
    labelNames: ["operation", "outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const reloads = new client.Counter({
    name: "xksctl_settings_reloads_total",
    help: "SIGHUP reloads of the settings file, by outcome: applied, refused, failed.",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  new client.Gauge({
    name: "xksctl_hsm_sessions",
    help: "PKCS#11 sessions of the pool: open, in use, and requests waiting for one.",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      const s = sources.sessions?.();
      if (!s) return;
      this.set({ state: "open" }, s.open);
      this.set({ state: "in_use" }, s.inUse);
      this.set({ state: "waiting" }, s.waiting);
    },
  });
  new client.Gauge({
    name: "xksctl_hsm_health",
    help: "1 for the HSM's health state as GetHealthStatus reports it (summed over worker processes), 0 for the others.",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      const h = sources.health?.();
      for (const s of STATES) this.set({ state: s }, h === s ? 1 : 0);
    },
  });
  new client.Gauge({
    name: "xksctl_tls_certificate_expiry_timestamp_seconds",
    help: "When the served TLS certificate expires, Unix time; days left: (xksctl_tls_certificate_expiry_timestamp_seconds - time()) / 86400 (KMS alarms at 30: XksProxyCertificateDaysToExpire).",
    aggregator: "min",
    registers: [registry],
    collect() {
      const t = sources.certificateNotAfter?.();
      if (t !== undefined) this.set(Math.floor(t / 1000));
    },
  });
  return {
    registry,
    request: (operation, store, status, errorName, seconds) => {
      requests.inc({ operation, store, status: String(status), error_name: errorName });
      latency.observe({ operation }, seconds);
    },
    refused: (limit) => refusals.inc({ limit }),
    hsmOperation: (name, seconds, ok) => hsm.observe({ operation: name, outcome: ok ? "ok" : "error" }, seconds),
    reload: (outcome) => reloads.inc({ outcome }),
    setSources: (s) => (sources = { ...sources, ...s }),
  };
}

/** In a worker process: answer the primary's aggregation requests with this registry. */
export function shareWithPrimary(metrics: ProxyMetrics): void {
  new client.AggregatorRegistry(); // installs the worker side of prom-client's cluster protocol
  client.AggregatorRegistry.setRegistries([metrics.registry]);
}

/** Serves GET /metrics on ip:port (plain HTTP; loopback by default). `text` makes the exposition. */
export async function listenMetrics(ip: string, port: number, text: () => Promise<{ body: string; contentType: string }>): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("only GET /metrics\n");
      return;
    }
    text().then(
      ({ body, contentType }) => res.writeHead(200, { "content-type": contentType }).end(req.method === "HEAD" ? "" : body),
      () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new XksctlError("XKS_LISTEN", `Cannot listen on ${ip}:${port} for metrics: ${err.code ?? err.message}`, { remedy: "Choose a free port in [metrics] port, or stop the process holding it." })),
    );
    server.listen(port, ip, resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The exposition of one process's registry. */
export function localText(metrics: ProxyMetrics): () => Promise<{ body: string; contentType: string }> {
  return async () => ({ body: await metrics.registry.metrics(), contentType: metrics.registry.contentType });
}

/** The exposition summed over every worker (call in the primary). */
export function clusterText(): () => Promise<{ body: string; contentType: string }> {
  const aggregator = new client.AggregatorRegistry();
  return async () => ({ body: await aggregator.clusterMetrics(), contentType: aggregator.contentType });
}
