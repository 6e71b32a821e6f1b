/**
 * The HTTP client of doctor's network and live checks: undici 7 with HTTP/2 allowed (ALPN h2,
 * http/1.1), as KMS's fleet talks to a proxy. Certificates are always verified: against Node's
 * root store, or against the CA certificates a check passes (a self-signed quickstart's own
 * certificate); never switched off. The negotiated protocol is reported with every response.
 */
import type { TLSSocket } from "node:tls";
import { Agent, buildConnector, request } from "undici";

/** One request. */
export interface HttpRequest {
  url: string;
  method: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** Trust these CA certificates (PEM) instead of Node's root store. */
  ca?: string;
  /** The name the server certificate must cover, when it differs from the URL's host (e.g. an IP URL). */
  servername?: string;
  timeoutMs?: number;
}

/** What came back. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** "h2" or "http/1.1" (plain HTTP: "http/1.1"). */
  protocol: string;
}

/** The client doctor uses; `close` drops every connection. */
export interface HttpClient {
  request(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

interface Pooled {
  agent: Agent;
  protocol: string;
}

/** The real client: one undici Agent per (origin, trust, name), closed by `close`. */
export function createHttpClient(): HttpClient {
  const pools = new Map<string, Pooled>();
  const poolFor = (req: HttpRequest): Pooled => {
    const origin = new URL(req.url).origin;
    const key = JSON.stringify([origin, req.ca ?? null, req.servername ?? null]);
    let p = pools.get(key);
    if (!p) {
      const base = buildConnector({ allowH2: true, timeout: req.timeoutMs ?? 5000, rejectUnauthorized: true, ...(req.ca ? { ca: req.ca } : {}) });
      const pooled: Pooled = { agent: undefined as unknown as Agent, protocol: "http/1.1" };
      pooled.agent = new Agent({
        allowH2: true,
        connect: (opts, cb) =>
          base(req.servername ? { ...opts, servername: req.servername } : opts, (err, socket) => {
            if (socket) pooled.protocol = (socket as TLSSocket).alpnProtocol || "http/1.1";
            (cb as (e: Error | null, s: unknown) => void)(err, socket);
          }),
      });
      pools.set(key, pooled);
      p = pooled;
    }
    return p;
  };
  return {
    async request(req) {
      const pool = poolFor(req);
      const timeout = req.timeoutMs ?? 5000;
      const res = await request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        dispatcher: pool.agent,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      const body = await res.body.text();
      return { status: res.statusCode, headers: res.headers as Record<string, string | string[] | undefined>, body, protocol: pool.protocol };
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.agent.destroy().catch(() => undefined)));
    },
  };
}

/** A short reason for a failed request (undici and TLS errors carry their cause in `cause`). */
export function describeHttpError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.cause?.code ?? e?.code;
  const msg = e?.cause?.message ?? e?.message ?? String(err);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}
