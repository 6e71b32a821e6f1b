/**
 * The XKS proxy server: HTTP/2 over TLS with HTTP/1.1 fallback (ALPN h2, http/1.1), plain
 * HTTP/1.1 only when is_tls_enabled = false (as the reference), optional mTLS, GET /ping on the
 * main port and on port_http_ping. One request: route → method → no query → declared size →
 * admission (429 before anything is read) → body (capped, timed) → SigV4 → JSON → handler →
 * single-line JSON → one log line. Connections are bounded by the [server] timeouts and limits
 * (src/proxy/transport.ts). `createProxyServer` builds; `listen` binds; `close` drains.
 */
import { constants as cryptoConstants } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import tls from "node:tls";
import { XksctlError } from "../errors.js";
import type { Settings } from "../config/types.js";
import type { Hsm } from "../hsm/types.js";
import { VERSION } from "../version.js";
import { Admission, type AdmissionLimits, type Refusal, type RefusalLimit } from "./admission.js";
import { ClientGone, readBody } from "./body-reader.js";
import { XksError, toXksResponse, type Situation } from "./errors.js";
import { handle, type HandlerDeps } from "./handlers.js";
import { HealthMonitor, healthTiming, type EkmModule } from "./health.js";
import type { Logger } from "./log.js";
import type { ProxyMetrics } from "./metrics.js";
import { parseJsonBody } from "./request-body.js";
import { createRouter, type Route } from "./router.js";
import { verifySigV4 } from "./sigv4/verify.js";
import { CONNECTION_WINDOW_BYTES, MAX_HEADER_LIST_BYTES, answerClientError, applyHttp1Limits, h2Settings, onIdleTimeout, transportLimits, type TransportLimits } from "./transport.js";

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
  /** Prometheus metrics (src/proxy/metrics.ts); absent in tests that do not look at them. */
  metrics?: ProxyMetrics;
  /** The HSM modules behind the token, for GetHealthStatus's ekmFleetDetails (nShield: from enquiry). */
  ekmModules?: () => EkmModule[] | undefined;
}

/** What the server holds right now (for tests and the drain). */
export interface ProxyStats {
  /** XKS requests admitted and not yet answered (or abandoned by their client). */
  inFlight: number;
  /** Open connections on both ports. */
  connections: number;
  /** Open HTTP/2 streams. */
  streams: number;
}

/** A built proxy. */
export interface ProxyServer {
  /** Binds the main (and ping) listeners; resolves to the ports actually bound. */
  listen(): Promise<{ port: number; pingPort?: number }>;
  /** Applies new settings (key sets, credentials, TLS files, limits) without dropping connections. */
  reload(settings: Settings): void;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), closes connections. */
  close(graceMs?: number): Promise<void>;
  stats(): ProxyStats;
  health: HealthMonitor;
}

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;
type LogFields = Record<string, unknown>;

interface State {
  settings: Settings;
  route: (path: string) => Route | undefined;
  handlerDeps: HandlerDeps;
  limits: TransportLimits;
}

const noop = () => undefined;

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
    // No TLS 1.2 renegotiation (TLS 1.3 has none): KMS never asks for it, the client certificate
    // of mTLS is requested in the first handshake, and each renegotiation is a full handshake's CPU.
    secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
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
    limits: transportLimits(settings),
  };
}

function admissionLimits(settings: Settings): AdmissionLimits {
  return {
    maxInFlight: settings.server.max_in_flight_requests,
    maxLoopDelayMs: settings.server.max_event_loop_delay_milli,
    maxServiceMs: settings.server.max_service_time_milli,
    congestedInFlight: settings.pkcs11.session_pool_max_size,
  };
}

/** The message of the one-a-second summary line of admission control's 429s (the bench reads it). */
export const REFUSAL_SUMMARY = "requests refused with 429: the proxy is overloaded";

/** Counts repeated events by kind and logs them at most once a second (a flood must not flood the log too). */
class EventSummary<K extends string> {
  private counts = new Map<K, number>();
  private timer?: NodeJS.Timeout;
  constructor(
    private logger: Logger,
    private msg: string,
    private describe: (kind: K) => string,
    /** Fields of the line beside its reason (read when it is written). */
    private fields: (kind: K) => LogFields = () => ({}),
  ) {}
  note(kind: K): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.timer ??= setTimeout(() => this.flush(), 1000).unref();
  }
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [kind, count] of this.counts) this.logger.log("WARN", this.msg, { count, reason: this.describe(kind), ...this.fields(kind), windowMs: 1000 });
    this.counts.clear();
  }
}

const isHttp1 = (res: AnyResponse): res is http.ServerResponse => "shouldKeepAlive" in res;

/**
 * Whether an HTTP/2 request's body must be cut off after the answer: always after a body that
 * was too large or too slow; otherwise when it is still arriving and its size is unknown or over
 * the cap (a declared small body is discarded as it arrives).
 */
function cutOff(req: http2.Http2ServerRequest, bodyLeft: "always" | "ifLarge" | undefined): boolean {
  if (bodyLeft === undefined || req.complete || req.stream.endAfterHeaders) return false;
  return bodyLeft === "always" || !(Number(req.headers["content-length"] ?? Infinity) <= MAX_BODY_BYTES);
}

/** The 429 of admission control, rendered once: under a flood it is most of what the proxy sends (the bench's bare server sends it too). */
export const OVERLOADED = toXksResponse(new XksError("overloaded"));
export const OVERLOADED_HEADERS = Object.freeze({ "content-type": "application/json", "content-length": String(Buffer.byteLength(OVERLOADED.body)) }) as Record<string, string>;
/** The ping port's answer to anything but /ping, rendered once. */
const PING_PORT_ONLY = toXksResponse(new XksError("pingPortOnly"));
const PING_PORT_ONLY_HEADERS = Object.freeze({ "content-type": "application/json", "content-length": String(Buffer.byteLength(PING_PORT_ONLY.body)) }) as Record<string, string>;

/** Builds the proxy without listening. */
export function createProxyServer(initial: Settings, deps: ProxyDeps): ProxyServer {
  const { logger, hsm, now, metrics } = deps;
  const health = new HealthMonitor(hsm, initial.server.fleet_size, now, (status, reason, previous) => {
    if (previous === undefined && status === "ACTIVE") return;
    logger.log(status === "ACTIVE" ? "INFO" : "WARN", `HSM health ${previous ?? "unknown"} -> ${status}`, { reason });
  }, healthTiming(initial.pkcs11.health_check_interval_milli), deps.ekmModules);
  let state = buildState(initial, hsm, health);
  const admission = new Admission(admissionLimits(initial));
  /** Refusals are summed by kind and by the key that refused them, both taken when each is refused. */
  type ShedKey = `${NonNullable<Refusal>} ${RefusalLimit}`;
  const parts = (k: ShedKey) => k.split(" ") as [NonNullable<Refusal>, RefusalLimit];
  const shed = new EventSummary<ShedKey>(
    logger,
    REFUSAL_SUMMARY,
    (k) => admission.describe(...parts(k)),
    (k) => ({ limit: parts(k)[1] }),
  );
  // Each summary key made once: under a flood a key built per refusal is a new string to flatten
  // and hash for every 429 (0.7% of the event loop in the flood's CPU profile).
  const shedKeys: Partial<Record<NonNullable<Refusal>, Partial<Record<RefusalLimit, ShedKey>>>> = {};
  const shedKey = (ticket: NonNullable<Refusal>, limit: RefusalLimit): ShedKey => ((shedKeys[ticket] ??= {})[limit] ??= `${ticket} ${limit}`);
  const dropped = new EventSummary<"max">(logger, "connections refused: max_connections reached", () => `max_connections = ${state.limits.maxConnections}`);
  let closing = false;

  /**
   * Sends a JSON answer. `bodyLeft`: the request body may still be arriving and must not be read
   * to its end: HTTP/1.1 closes the connection after the answer ("always"), or only when the body
   * is unbounded ("ifLarge": chunked or over the cap; a small one is discarded by Node); HTTP/2
   * ends the stream with RST_STREAM(NO_ERROR) after the answer if the client is still sending.
   */
  const send = (req: AnyRequest, res: AnyResponse, status: number, body: string, extra?: Record<string, string>, bodyLeft?: "always" | "ifLarge") => {
    if (res.headersSent || res.destroyed) return;
    let headers: Record<string, string> = extra === OVERLOADED_HEADERS ? extra : { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...extra };
    if (isHttp1(res)) {
      const large = () => req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES;
      if (closing || bodyLeft === "always" || (bodyLeft === "ifLarge" && large())) headers = { ...headers, connection: "close" };
    }
    res.writeHead(status, headers);
    res.end(body);
    if (!isHttp1(res) && cutOff(req as http2.Http2ServerRequest, bodyLeft)) {
      // RST_STREAM(NO_ERROR) once the answer is out: close() waits for a 'finish' that has not come yet.
      const stream = (res as http2.Http2ServerResponse).stream;
      const rst = () => {
        if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
      };
      if (stream.writableFinished) rst();
      else stream.once("finish", rst);
    }
  };

  const onRequest = (req: AnyRequest, res: AnyResponse) => {
    const started = process.hrtime.bigint();
    // Answers whose HSM call has finished go out in this turn of the event loop, not the next.
    hsm.settleFinished();
    if (isHttp1(res)) {
      // HTTP/1.1 messages emit 'error' (a reset mid-body) only when listened to; be explicit.
      req.on("error", noop);
      res.on("error", noop);
    }
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const method = req.method ?? "GET";
    if (path === "/ping" && q < 0) {
      req.resume();
      if (!answerPing(method, res)) sendError(req, res, new XksError("pingMethod"), { allow: "GET" });
      return;
    }
    const current = state;
    const route = current.route(path);
    if (route && method === "POST" && q < 0 && !(Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES)) {
      // The common case first, and admission before anything else is allocated or read.
      const ticket = admission.tryAdmit();
      if (typeof ticket === "string") {
        req.resume();
        send(req, res, OVERLOADED.status, OVERLOADED.body, OVERLOADED_HEADERS, "ifLarge");
        const limit = admission.limitOf(ticket);
        shed.note(shedKey(ticket, limit));
        if (metrics) {
          // An answer KMS sees like any other (its customers see the throttling): counted as one.
          metrics.request(route.operation, route.store.uri_path_prefix, OVERLOADED.status, OVERLOADED.errorName, Number(process.hrtime.bigint() - started) / 1e9);
          metrics.refused(limit);
        }
        return;
      }
      const ctx = requestContext(req, route, started);
      if (logger.enabled("DEBUG")) logger.log("DEBUG", "request received", ctx.fields);
      void serveAdmitted(req, res, path, route, current, ctx, () => admission.serving(ticket)).finally(() => admission.release(ticket));
      return;
    }
    // Refused before the body is read (nothing of it is used).
    const ctx = requestContext(req, route, started);
    const refuse = (situation: Situation, opts: { headers?: Record<string, string>; detail?: string } = {}) => {
      req.resume();
      const e = new XksError(situation, { detail: opts.detail });
      sendError(req, res, e, opts.headers);
      ctx.finish(e.status, e.errorName, e.logDetail);
    };
    if (!route) return refuse("unknownPath");
    if (method !== "POST") return refuse("methodNotAllowed", { headers: { allow: "POST" } });
    if (q >= 0) return refuse("queryString", { detail: `${rawUrl.length - q - 1} characters after "?"` });
    return refuse("bodyTooLarge", { detail: `content-length ${req.headers["content-length"]}` });
  };

  /** The log line's fields and the function that writes it once the answer is sent. */
  const requestContext = (req: AnyRequest, route: Route | undefined, started: bigint) => {
    const fields: LogFields = { operation: route?.operation, store: route?.store.uri_path_prefix, keyId: route?.keyId, http: req.httpVersion };
    const finish = (status: number, errorName?: string, detail?: string) => {
      // 501 answers an input larger than the proxy supports: the client's problem, not ours.
      const level = status >= 500 && status !== 501 ? "ERROR" : status >= 400 ? "WARN" : "INFO";
      const log = logger.enabled(level);
      if (!metrics && !log) return;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      metrics?.request(route?.operation ?? "none", route?.store.uri_path_prefix ?? "", status, errorName ?? "", durationMs / 1000);
      if (!log) return;
      logger.log(level, "request", { ...fields, status, errorName, detail, durationMs: Math.round(durationMs * 1000) / 1000 });
    };
    return { fields, finish };
  };
  type RequestContext = ReturnType<typeof requestContext>;

  const sendError = (req: AnyRequest, res: AnyResponse, err: unknown, headers?: Record<string, string>, bodyLeft: "always" | "ifLarge" = "ifLarge") => {
    const r = toXksResponse(err);
    send(req, res, r.status, r.body, headers, bodyLeft);
    return r;
  };

  /** Body → SigV4 → Content-Type → JSON → handler, for an admitted request. */
  const serveAdmitted = async (req: AnyRequest, res: AnyResponse, path: string, route: Route, { settings, handlerDeps, limits }: State, { fields, finish }: RequestContext, bodyRead: () => void) => {
    let body: Buffer;
    try {
      body = await readBody(req, { maxBytes: MAX_BODY_BYTES, timeoutMs: limits.bodyTimeoutMs });
      bodyRead();
    } catch (err) {
      if (err instanceof ClientGone) {
        if (logger.enabled("INFO")) logger.log("INFO", "request abandoned by the client", { ...fields, bodyBytes: err.bytes });
        return;
      }
      const r = sendError(req, res, err, undefined, "always");
      return finish(r.status, r.errorName, r.logDetail);
    }
    /** The parsed body: undefined before parsing, null when it is not JSON. */
    let json: Record<string, unknown> | null | undefined;
    try {
      if (settings.security.is_sigv4_auth_enabled) {
        const v = verifySigV4({ method: "POST", path, query: "", headers: req.headers, body }, {
          region: settings.server.region,
          service: settings.server.service,
          credentials: route.store.credentials,
          now: now(),
        });
        if (!v.ok) throw new XksError("authentication", { detail: v.reason });
        // Which credential signed it (the id only): shows when KMS has moved to a rotated one.
        fields.accessKeyId = v.accessKeyId;
      }
      const ct = String(req.headers["content-type"] ?? "");
      if (!/^application\/json\s*(;|$)/i.test(ct)) throw new XksError("contentType", { detail: ct.slice(0, 100) });
      json = null;
      json = parseJsonBody(body);
      const result = await handle(route, json, handlerDeps);
      fields.kmsRequestId = result.metadata.kmsRequestId;
      fields.kmsOperation = result.metadata.kmsOperation;
      fields.awsPrincipalArn = result.metadata.awsPrincipalArn;
      send(req, res, 200, JSON.stringify(result.body));
      finish(200);
    } catch (err) {
      if (fields.kmsRequestId === undefined) fields.kmsRequestId = requestIdOf(json === undefined ? parseQuietly(body) : json);
      const r = sendError(req, res, err);
      finish(r.status, r.errorName, r.logDetail);
    }
  };

  const tlsOn = initial.security.is_tls_enabled;
  const limits0 = state.limits;
  const main: http2.Http2SecureServer | http.Server = tlsOn
    ? http2.createSecureServer({ ...tlsOptions(initial), allowHTTP1: true, handshakeTimeout: limits0.handshakeTimeoutMs, settings: h2Settings(limits0) }, onRequest)
    : http.createServer({ maxHeaderSize: MAX_HEADER_LIST_BYTES }, onRequest);
  applyHttp1Limits(main, limits0);

  if (tlsOn && initial.security.is_mtls_enabled) {
    // The DNS name of the start-up settings: a reload that changes it is refused (src/proxy/start.ts).
    const name = initial.tls?.mtls_client_dns_name ?? "";
    main.on("secureConnection", (socket: tls.TLSSocket) => {
      const err = tls.checkServerIdentity(name, socket.getPeerCertificate());
      if (err) {
        logger.log("WARN", "mTLS client certificate rejected", { reason: `certificate is not valid for ${name}` });
        socket.destroy();
      }
    });
  }
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  const onConnection = (socket: net.Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // Small responses must not wait for Nagle + delayed ACK (tens of ms per response otherwise).
    socket.setNoDelay(true);
    const keepalive = state.settings.server.tcp_keepalive;
    if (keepalive.tcp_keepalive_secs !== undefined) socket.setKeepAlive(true, keepalive.tcp_keepalive_secs * 1000);
  };
  const onClientError = (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const { answered } = answerClientError(err, socket);
    if (answered) {
      if (logger.enabled("WARN")) logger.log("WARN", "request", { http: "1.1", status: answered.status, errorName: answered.errorName, detail: answered.logDetail });
    } else if (logger.enabled("DEBUG")) logger.log("DEBUG", "connection dropped", { reason: err.code ?? err.message });
  };
  const onServerError = (what: string) => (err: NodeJS.ErrnoException) => logger.log("ERROR", `${what} listener error; still serving`, { reason: err.code ?? err.message });
  main.on("connection", onConnection);
  main.on("clientError", onClientError);
  main.on("timeout", onIdleTimeout);
  main.on("drop", () => dropped.note("max"));
  let openStreams = 0;
  /** Open streams per HTTP/2 session, so a draining session gets its GOAWAY when it has none. */
  const streamsOf = new WeakMap<http2.Http2Session, number>();
  if (tlsOn) {
    const h2 = main as http2.Http2SecureServer;
    h2.on("session", (s) => {
      sessions.add(s);
      s.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
      // A new connection must open its first stream within headers_timeout_milli.
      const firstStream = setTimeout(() => onIdleTimeout(s), state.limits.headersTimeoutMs).unref();
      s.once("stream", () => clearTimeout(firstStream));
      s.on("close", () => {
        clearTimeout(firstStream);
        sessions.delete(s);
      });
    });
    h2.on("sessionError", (err: NodeJS.ErrnoException) => {
      if (logger.enabled("DEBUG")) logger.log("DEBUG", "HTTP/2 session error", { reason: err.code ?? err.message });
    });
    h2.on("stream", (stream) => {
      // (Node's compatibility layer listens for the stream's errors.)
      const session = stream.session;
      // A stream whose HEADERS, DATA and RST_STREAM were read together (a "rapid reset" flood,
      // or KMS giving up) can be destroyed before this event: it has no session then, and is not
      // counted. Unguarded, the WeakMap below threw on the undefined key, an uncaught exception
      // that ended the process (test/cli/serve-resets.test.ts).
      if (session === undefined) return;
      openStreams++;
      streamsOf.set(session, (streamsOf.get(session) ?? 0) + 1);
      stream.once("close", () => {
        openStreams--;
        const left = (streamsOf.get(session) ?? 1) - 1;
        streamsOf.set(session, left);
        // Draining: GOAWAY as soon as this connection has nothing in flight (see close()).
        if (closing && left === 0 && !session.closed) session.close();
      });
    });
  }

  const pingPort = initial.server.port_http_ping;
  const ping =
    pingPort !== initial.server.port
      ? http.createServer({ maxHeaderSize: MAX_HEADER_LIST_BYTES }, (req, res) => {
          req.resume();
          if (req.url !== "/ping" || !answerPing(req.method ?? "GET", res)) {
            res.writeHead(PING_PORT_ONLY.status, PING_PORT_ONLY_HEADERS);
            res.end(PING_PORT_ONLY.body);
          }
        })
      : undefined;
  if (ping) {
    applyHttp1Limits(ping, limits0);
    ping.on("connection", onConnection);
    ping.on("clientError", onClientError);
    ping.on("timeout", onIdleTimeout);
  }

  const bind = (server: net.Server, port: number, what: string) =>
    new Promise<number>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(new XksctlError("XKS_LISTEN", `Cannot listen on ${initial.server.ip}:${port} for ${what}: ${err.code ?? err.message}`, {
          remedy: err.code === "EACCES" ? `Ports below 1024 need root or CAP_NET_BIND_SERVICE; or choose another port in [server] ${what === "/ping" ? "port_http_ping" : "port"}.` : undefined,
        }));
      server.once("error", onError);
      server.listen(port, initial.server.ip, () => {
        server.off("error", onError);
        // From here on an accept failure (EMFILE, ENFILE) is logged, never fatal.
        server.on("error", onServerError(what));
        resolve((server.address() as net.AddressInfo).port);
      });
    });

  return {
    health,
    async listen() {
      const port = await bind(main, initial.server.port, "the XKS API");
      let boundPing: number | undefined;
      try {
        boundPing = ping ? await bind(ping, pingPort, "/ping") : undefined;
      } catch (err) {
        // A listening main port would keep the process alive after its one-line error.
        await new Promise((r) => main.close(r));
        throw err;
      }
      admission.start();
      health.start();
      return { port, pingPort: boundPing };
    },
    reload(next) {
      if (tlsOn && next.tls) (main as http2.Http2SecureServer).setSecureContext(tlsOptions(next));
      state = buildState(next, hsm, health);
      admission.setLimits(admissionLimits(next));
      applyHttp1Limits(main, state.limits);
      if (ping) applyHttp1Limits(ping, state.limits);
      if (tlsOn) {
        const h2 = main as http2.Http2SecureServer;
        h2.updateSettings(h2Settings(state.limits));
        for (const s of sessions) {
          if (s.closed || s.destroyed) continue;
          s.settings(h2Settings(state.limits));
          s.setTimeout(state.limits.idleTimeoutMs);
        }
      }
    },
    stats: () => ({ inFlight: admission.inFlight, connections: sockets.size, streams: openStreams }),
    async close(graceMs = 10_000) {
      // Stop listening first: a new connection is then refused by the OS (a load balancer tries
      // another instance) instead of being accepted and dropped. Requests on open connections
      // still complete. Each HTTP/2 connection gets its GOAWAY when none of its streams is open
      // (now, or when its last one closes): some clients (undici 7) fail every open stream when
      // GOAWAY arrives, even the ones the server goes on to answer.
      closing = true;
      health.stop();
      const mainClosed = new Promise((r) => main.close(r));
      const pingClosed = ping ? new Promise((r) => ping.close(r)) : undefined;
      for (const s of sessions) if ((streamsOf.get(s) ?? 0) === 0 && !s.closed) s.close();
      for (let waited = 0; (admission.inFlight > 0 || openStreams > 0) && waited < graceMs; waited += 10) await new Promise((r) => setTimeout(r, 10));
      // Let clients take in the last responses before the connections end.
      await new Promise((r) => setTimeout(r, 100));
      for (const s of sessions) s.close();
      for (const s of sockets) if (!tlsOn) s.end();
      await new Promise((r) => setTimeout(r, 50));
      for (const s of sockets) s.destroy();
      await Promise.all([mainClosed, pingClosed]);
      admission.stop();
      shed.flush();
      dropped.flush();
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

/** Best-effort kmsRequestId of a request that failed its checks, for the log line only. */
function requestIdOf(v: unknown): string | undefined {
  const id = (v as { requestMetadata?: { kmsRequestId?: unknown } } | null | undefined)?.requestMetadata?.kmsRequestId;
  return typeof id === "string" ? id.slice(0, 128) : undefined;
}

/** A body that failed before it was parsed (SigV4, Content-Type), parsed for requestIdOf only. */
function parseQuietly(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}
