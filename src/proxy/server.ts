/**
 * The XKS proxy server: HTTP/2 over TLS with HTTP/1.1 fallback (ALPN h2, http/1.1), plain
 * HTTP/1.1 only when is_tls_enabled = false (as the reference), optional mTLS, GET /ping on the
 * main port and on port_http_ping. One request: route → body (capped) → SigV4 → JSON → handler →
 * single-line JSON → one log line. `createProxyServer` builds; `listen` binds; `close` drains.
 */
import fs from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import tls from "node:tls";
import { XksctlError } from "../errors.js";
import type { Settings } from "../config/types.js";
import type { Hsm } from "../hsm/types.js";
import { VERSION } from "../version.js";
import { XksError, toXksResponse } from "./errors.js";
import { handle, type HandlerDeps } from "./handlers.js";
import { HealthMonitor, healthTiming } from "./health.js";
import type { Logger } from "./log.js";
import { parseJsonBody } from "./request-body.js";
import { createRouter, type Route } from "./router.js";
import { verifySigV4 } from "./sigv4/verify.js";

/** Request bodies are capped before they are read whole (xks-api.md §10: 64 KiB is safe). */
export const MAX_BODY_BYTES = 64 * 1024;

/** TLS 1.2 suites: the spec's two, then other forward-secret AEAD suites. TLS 1.3 uses Node's defaults. */
export const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
].join(":");

/** What the server is built from. */
export interface ProxyDeps {
  hsm: Hsm;
  logger: Logger;
  /** Clock for SigV4 and health caching (ms since the epoch). */
  now(): number;
}

/** A built proxy. */
export interface ProxyServer {
  /** Binds the main (and ping) listeners; resolves to the ports actually bound. */
  listen(): Promise<{ port: number; pingPort?: number }>;
  /** Applies new settings (key sets, credentials, TLS files) without dropping connections. */
  reload(settings: Settings): void;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), closes connections. */
  close(graceMs?: number): Promise<void>;
  health: HealthMonitor;
}

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

interface State {
  settings: Settings;
  route: (path: string) => Route | undefined;
  handlerDeps: HandlerDeps;
}

function readPem(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new XksctlError("XKS_TLS_FILES", `Cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/** TLS options from [tls]; the key may be PKCS#1, PKCS#8 or SEC1 (the reference refuses SEC1). */
function tlsOptions(settings: Settings): tls.SecureContextOptions & tls.TlsOptions {
  const t = settings.tls!;
  const opts: tls.SecureContextOptions & tls.TlsOptions = {
    cert: readPem(t.tls_cert_pem, "[tls] tls_cert_pem"),
    key: readPem(t.tls_key_pem, "[tls] tls_key_pem"),
    minVersion: "TLSv1.2",
    ciphers: TLS12_CIPHERS,
    honorCipherOrder: true,
  };
  if (settings.security.is_mtls_enabled) {
    opts.ca = readPem(t.mtls_client_ca_pem!, "[tls] mtls_client_ca_pem");
    opts.requestCert = true;
    opts.rejectUnauthorized = true;
  }
  try {
    tls.createSecureContext(opts);
  } catch (err) {
    throw new XksctlError("XKS_TLS_FILES", `The TLS certificate or key is not usable: ${(err as Error).message}`);
  }
  return opts;
}

function buildState(settings: Settings, hsm: Hsm, health: HealthMonitor): State {
  const cm = settings.server.ciphertext_metadata_b64;
  return {
    settings,
    route: createRouter(settings.external_key_stores),
    handlerDeps: { settings, hsm, health, metadata: cm ? Buffer.from(cm, "base64") : undefined },
  };
}

/** Builds the proxy without listening. */
export function createProxyServer(initial: Settings, deps: ProxyDeps): ProxyServer {
  const { logger, hsm, now } = deps;
  const health = new HealthMonitor(hsm, initial.server.fleet_size, now, (status, reason, previous) => {
    if (previous === undefined && status === "ACTIVE") return;
    logger.log(status === "ACTIVE" ? "INFO" : "WARN", `HSM health ${previous ?? "unknown"} -> ${status}`, { reason });
  }, healthTiming(initial.pkcs11.health_check_interval_milli));
  let state = buildState(initial, hsm, health);
  let inFlight = 0;
  let closing = false;

  const send = (res: AnyResponse, status: number, body: string, extra: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...extra };
    if (closing && "shouldKeepAlive" in res) headers.connection = "close";
    res.writeHead(status, headers);
    res.end(body);
  };

  const onRequest = (req: AnyRequest, res: AnyResponse) => {
    const started = process.hrtime.bigint();
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = q < 0 ? "" : rawUrl.slice(q + 1);
    const method = req.method ?? "GET";
    if (path === "/ping" && q < 0) {
      if (!answerPing(method, res)) send(res, 405, JSON.stringify({ errorName: "ValidationException", errorMessage: "use GET /ping" }), { allow: "GET" });
      return;
    }
    const { settings, route: routeOf, handlerDeps } = state;
    const route = routeOf(path);
    const fields: Record<string, unknown> = { operation: route?.operation, store: route?.store.uri_path_prefix, keyId: route?.keyId, http: req.httpVersion };
    const finish = (status: number, errorName?: string, detail?: string) => {
      const level = status >= 500 ? "ERROR" : status >= 400 ? "WARN" : "INFO";
      if (!logger.enabled(level)) return;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      logger.log(level, "request", { ...fields, status, errorName, detail, durationMs: Math.round(durationMs * 1000) / 1000 });
    };
    const fail = (err: unknown) => {
      const r = toXksResponse(err);
      send(res, r.status, r.body);
      finish(r.status, r.errorName, r.logDetail);
    };
    if (!route) {
      req.resume();
      return fail(new XksError("InvalidUriPathException", "the URI path is not a valid XKS API path for this proxy"));
    }
    if (method !== "POST") {
      // The spec defines no body for 405; KMS reads JSON, so send the usual error shape.
      send(res, 405, JSON.stringify({ errorName: "ValidationException", errorMessage: `method ${method} is not allowed; the XKS API uses POST` }), { allow: "POST" });
      req.resume();
      return finish(405, "ValidationException");
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      return fail(new XksError("UnsupportedOperationException", `the request body is larger than ${MAX_BODY_BYTES} bytes`));
    }
    inFlight++;
    if (logger.enabled("DEBUG")) logger.log("DEBUG", "request received", fields);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on("error", () => undefined);
    req.on("end", () => {
      void (async () => {
        try {
          if (tooLarge) throw new XksError("UnsupportedOperationException", `the request body is larger than ${MAX_BODY_BYTES} bytes`);
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          if (settings.security.is_sigv4_auth_enabled) {
            const v = verifySigV4({ method, path, query, headers: req.headers, body }, {
              region: settings.server.region,
              service: settings.server.service,
              credentials: route.store.credentials,
              now: now(),
            });
            if (!v.ok) throw new XksError("AuthenticationFailedException", "the request signature could not be verified", v.reason);
          }
          const ct = String(req.headers["content-type"] ?? "");
          if (!/^application\/json\s*(;|$)/i.test(ct)) throw new XksError("ValidationException", "Content-Type must be application/json");
          const result = await handle(route, parseJsonBody(body), handlerDeps);
          fields.kmsRequestId = result.metadata.kmsRequestId;
          fields.kmsOperation = result.metadata.kmsOperation;
          fields.awsPrincipalArn = result.metadata.awsPrincipalArn;
          send(res, 200, JSON.stringify(result.body));
          finish(200);
        } catch (err) {
          if (fields.kmsRequestId === undefined) fields.kmsRequestId = peekRequestId(chunks);
          fail(err);
        } finally {
          inFlight--;
        }
      })();
    });
  };

  const tlsOn = initial.security.is_tls_enabled;
  const main: http2.Http2SecureServer | http.Server = tlsOn
    ? http2.createSecureServer({ ...tlsOptions(initial), allowHTTP1: true, settings: { maxConcurrentStreams: 256 } }, onRequest)
    : http.createServer({ keepAliveTimeout: 65_000 }, onRequest);

  if (tlsOn && initial.security.is_mtls_enabled) {
    main.on("secureConnection", (socket: tls.TLSSocket) => {
      const name = state.settings.tls?.mtls_client_dns_name ?? "";
      const err = tls.checkServerIdentity(name, socket.getPeerCertificate());
      if (err) {
        logger.log("WARN", "mTLS client certificate rejected", { reason: `certificate is not valid for ${name}` });
        socket.destroy();
      }
    });
  }
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  const keepalive = initial.server.tcp_keepalive;
  const onConnection = (socket: net.Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // Small responses must not wait for Nagle + delayed ACK (tens of ms per response otherwise).
    socket.setNoDelay(true);
    if (keepalive.tcp_keepalive_secs !== undefined) socket.setKeepAlive(true, keepalive.tcp_keepalive_secs * 1000);
  };
  main.on("connection", onConnection);
  let openStreams = 0;
  if (tlsOn) {
    const h2 = main as http2.Http2SecureServer;
    h2.on("session", (s) => {
      sessions.add(s);
      s.on("close", () => sessions.delete(s));
    });
    h2.on("stream", (stream) => {
      openStreams++;
      stream.on("close", () => openStreams--);
    });
  }

  const pingPort = initial.server.port_http_ping;
  const ping =
    pingPort !== initial.server.port
      ? http.createServer((req, res) => {
          if (req.url !== "/ping" || !answerPing(req.method ?? "GET", res)) {
            const body = JSON.stringify({ errorName: "InvalidUriPathException", errorMessage: "this port serves only GET /ping" });
            res.writeHead(404, { "content-type": "application/json", "content-length": String(body.length) });
            res.end(body);
          }
        })
      : undefined;
  ping?.on("connection", onConnection);

  const bind = (server: net.Server, port: number, what: string) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) =>
        reject(new XksctlError("XKS_LISTEN", `Cannot listen on ${initial.server.ip}:${port} for ${what}: ${err.code ?? err.message}`, {
          remedy: err.code === "EACCES" ? `Ports below 1024 need root or CAP_NET_BIND_SERVICE; or choose another port in [server] ${what === "/ping" ? "port_http_ping" : "port"}.` : undefined,
        })),
      );
      server.listen(port, initial.server.ip, () => resolve((server.address() as net.AddressInfo).port));
    });

  return {
    health,
    async listen() {
      const port = await bind(main, initial.server.port, "the XKS API");
      const boundPing = ping ? await bind(ping, pingPort, "/ping") : undefined;
      health.start();
      return { port, pingPort: boundPing };
    },
    reload(next) {
      if (tlsOn && next.tls) (main as http2.Http2SecureServer).setSecureContext(tlsOptions(next));
      state = buildState(next, hsm, health);
    },
    async close(graceMs = 10_000) {
      // New connections are refused from here on (see onConnection); requests on open
      // connections still complete. GOAWAY (sent by main.close) waits until in-flight requests
      // are done: some clients (undici 7) fail every open stream when GOAWAY arrives.
      closing = true;
      health.stop();
      const pingClosed = ping ? new Promise((r) => ping.close(r)) : undefined;
      for (let waited = 0; (inFlight > 0 || openStreams > 0) && waited < graceMs; waited += 10) await new Promise((r) => setTimeout(r, 10));
      // Let clients take in the last responses before GOAWAY reaches them.
      await new Promise((r) => setTimeout(r, 100));
      const mainClosed = new Promise((r) => main.close(r));
      for (const s of sessions) s.close();
      for (const s of sockets) if (!tlsOn) s.end();
      await new Promise((r) => setTimeout(r, 50));
      for (const s of sockets) s.destroy();
      await Promise.all([mainClosed, pingClosed]);
    },
  };
}

/** The /ping answer (main port and ping port): 200 text for GET and HEAD; false for other methods. */
const PONG = `pong from xksctl v${VERSION}\n`;
function answerPing(method: string, res: AnyResponse): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  res.writeHead(200, { "content-type": "text/plain", "content-length": String(PONG.length) });
  res.end(method === "HEAD" ? "" : PONG);
  return true;
}

/** Best-effort kmsRequestId from a body that failed later checks, for the log line only. */
function peekRequestId(chunks: Buffer[]): string | undefined {
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { requestMetadata?: { kmsRequestId?: unknown } };
    const id = v?.requestMetadata?.kmsRequestId;
    return typeof id === "string" ? id.slice(0, 128) : undefined;
  } catch {
    return undefined;
  }
}
