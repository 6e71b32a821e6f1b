/**
 * The connection-level limits of [server] (timeouts, connection cap, HTTP/2 streams per
 * connection) and what is answered below the request level: an HTTP/1.1 request Node's parser
 * refuses gets a JSON 400 and the connection is closed; a failed TLS handshake is dropped.
 */
import http from "node:http";
import type http2 from "node:http2";
import type net from "node:net";
import type { Settings } from "../config/types.js";
import { XksError, toXksResponse } from "./errors.js";

/** The limits as the servers take them, ms and counts. */
export interface TransportLimits {
  handshakeTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  maxConcurrentStreams: number;
}

/** Largest header block accepted over HTTP/2 (Node's HTTP/1.1 parser allows 16 KiB too). */
export const MAX_HEADER_LIST_BYTES = 16 * 1024;

/** The [server] limits of a settings file. */
export function transportLimits(settings: Settings): TransportLimits {
  const s = settings.server;
  return {
    handshakeTimeoutMs: s.tls_handshake_timeout_milli,
    headersTimeoutMs: s.headers_timeout_milli,
    bodyTimeoutMs: s.body_timeout_milli,
    idleTimeoutMs: s.idle_timeout_milli,
    maxConnections: s.max_connections,
    maxConcurrentStreams: s.max_concurrent_streams,
  };
}

/**
 * The HTTP/2 connection-level receive window each session opens to (RFC 9113 §6.9: 65,535 bytes
 * until changed; Go's HTTP/2 server uses 1 MiB too). A client with 100 streams of Encrypt in flight
 * sends ~49 KB of request bodies per round, which nearly fills the default window: the client may
 * then wait for the proxy's WINDOW_UPDATE before it can end streams whose answers are already sent.
 * Bodies are still capped per stream (MAX_BODY_BYTES) and read or discarded as they arrive.
 */
export const CONNECTION_WINDOW_BYTES = 1024 * 1024;

/** The HTTP/2 SETTINGS the main port advertises. */
export function h2Settings(l: TransportLimits): http2.Settings {
  return { maxConcurrentStreams: l.maxConcurrentStreams, maxHeaderListSize: MAX_HEADER_LIST_BYTES };
}

type Http1Capable = http.Server | http2.Http2SecureServer;

/**
 * Applies the timeouts and the connection cap to a server that speaks HTTP/1.1 (the plain server,
 * the ping port, or the HTTP/2 server's HTTP/1.1 fallback). Node checks the headers and request
 * timeouts every connectionsCheckingInterval, which is read when the server starts listening.
 * The request timeout is a backstop behind the proxy's own body timer.
 */
export function applyHttp1Limits(server: Http1Capable, l: TransportLimits): void {
  const s = server as Http1Capable & { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval: number; timeout: number };
  s.headersTimeout = l.headersTimeoutMs;
  s.requestTimeout = l.headersTimeoutMs + l.bodyTimeoutMs + 1000;
  s.keepAliveTimeout = l.idleTimeoutMs;
  s.timeout = l.idleTimeoutMs;
  s.connectionsCheckingInterval = Math.max(50, Math.min(1000, Math.floor(l.headersTimeoutMs / 4)));
  s.maxConnections = l.maxConnections;
}

/** An idle HTTP/2 session is closed with GOAWAY (destroyed if it still hangs on), an idle socket destroyed. */
export function onIdleTimeout(target: http2.Http2Session | net.Socket): void {
  const session = target as http2.Http2Session;
  if (typeof session.goaway === "function") {
    if (session.closed || session.destroyed) return;
    session.close();
    setTimeout(() => session.destroy(), 5000).unref();
  } else (target as net.Socket).destroy();
}

/** Whether a clientError is Node's HTTP/1.1 parser refusing a request (not a TLS or socket failure). */
function isHttpRefusal(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? "";
  return code.startsWith("HPE_") || code === "ERR_HTTP_REQUEST_TIMEOUT";
}

/** A complete HTTP/1.1 error response with a JSON body, closing the connection. */
function rawHttp1Error(err: XksError): string {
  const r = toXksResponse(err);
  return `HTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(r.body)}\r\nconnection: close\r\n\r\n${r.body}`;
}

/**
 * The clientError handler: a request the HTTP/1.1 parser refused (bad syntax, headers too large,
 * too slow) gets a JSON 400 when no response is under way; anything else (a failed or timed-out
 * TLS handshake, a reset) only closes the socket. Returns what happened, for the log.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: net.Socket): { answered: XksError | undefined } {
  const pending = (socket as net.Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (isHttpRefusal(err) && socket.writable && !pending?.headersSent) {
    const e = new XksError(err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "requestTimeout" : "malformedHttp", { detail: err.code });
    socket.end(rawHttp1Error(e));
    return { answered: e };
  }
  socket.destroy();
  return { answered: undefined };
}
