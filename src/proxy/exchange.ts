/**
 * One request and its answer, whichever HTTP version carries it: what the request path of
 * src/proxy/server.ts needs. HTTP/2 streams are served through Node's core `stream` API, not the
 * compatibility layer (`request` event): the layer builds two stream objects per request and
 * relays the body through a second Readable, which costs CPU on every request; under a flood,
 * where every answer is a 429, that cost is what decides how fast the answers come (decision
 * 0007). HTTP/1.1 (ALPN http/1.1, or a plain listener) uses node:http's request and response.
 */
import type http from "node:http";
import http2 from "node:http2";
import type { Readable } from "node:stream";

/** Whether the request body may still be arriving when the answer goes: see Exchange.respond. */
export type BodyLeft = "always" | "ifLarge" | undefined;

/** One request and the means to answer it. */
export interface Exchange {
  readonly method: string;
  /** The request target as received: path and query. */
  readonly url: string;
  /** Lower-case names; over HTTP/2 the pseudo-headers too (`:authority`). */
  readonly headers: http.IncomingHttpHeaders;
  /** For the log line: "1.1" or "2.0". */
  readonly httpVersion: string;
  /** The request body as it arrives (events data, end, close). */
  readonly body: Readable;
  /** An answer was sent, or can no longer be (the client is gone). */
  answered(): boolean;
  /**
   * Sends the whole answer. `bodyLeft`: the request body may still be arriving and must not be
   * read to its end: HTTP/1.1 closes the connection after the answer ("always"), or only when the
   * body is unbounded ("ifLarge": chunked or over the cap; a small one is discarded by Node);
   * HTTP/2 ends the stream with RST_STREAM(NO_ERROR) after the answer if the client is still
   * sending. `close`: HTTP/1.1 ends the connection after this answer (the server is draining).
   */
  respond(status: number, headers: Record<string, string>, body: string, bodyLeft: BodyLeft, close: boolean): void;
}

/** A request body over `maxBytes`, or of unknown size (chunked HTTP/1.1, HTTP/2 without content-length). */
function unbounded(headers: http.IncomingHttpHeaders, maxBytes: number): boolean {
  return !(Number(headers["content-length"] ?? Infinity) <= maxBytes);
}

/** An HTTP/1.1 request and response. */
export function http1Exchange(req: http.IncomingMessage, res: http.ServerResponse, maxBytes: number): Exchange {
  return {
    method: req.method ?? "GET",
    url: req.url ?? "/",
    headers: req.headers,
    httpVersion: req.httpVersion,
    body: req,
    answered: () => res.headersSent || res.destroyed,
    respond(status, headers, body, bodyLeft, close) {
      const large = req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > maxBytes;
      if (close || bodyLeft === "always" || (bodyLeft === "ifLarge" && large)) headers = { ...headers, connection: "close" };
      res.writeHead(status, headers);
      res.end(body);
    },
  };
}

const { HTTP2_HEADER_STATUS, NGHTTP2_NO_ERROR } = http2.constants;

/** An HTTP/2 stream, as the core API's `stream` event gives it. */
export function http2Exchange(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, maxBytes: number): Exchange {
  // Whatever ends the stream abnormally (a reset, the session going away) must not be an
  // unhandled 'error': the request path sees it as the stream closing.
  stream.on("error", noop);
  if (headers.expect === "100-continue") stream.additionalHeaders({ [HTTP2_HEADER_STATUS]: 100 });
  return {
    method: headers[":method"] ?? "GET",
    url: headers[":path"] ?? "/",
    headers,
    httpVersion: "2.0",
    body: stream,
    answered: () => stream.headersSent || stream.destroyed || stream.closed,
    respond(status, hdrs, body, bodyLeft) {
      const head = body === "";
      try {
        // END_STREAM after the body, as an empty DATA frame (as the compatibility layer does): ended
        // with the body, the stream closes before Node has released it, and a client that keeps
        // max_concurrent_streams in flight gets its next stream refused (decision 0007).
        stream.respond({ [HTTP2_HEADER_STATUS]: status, ...hdrs }, { endStream: head, waitForTrailers: !head });
        if (!head) stream.once("wantTrailers", () => stream.sendTrailers({}));
        if (!head) stream.end(body);
      } catch {
        return; // the stream went away between the check and the answer: nobody to answer
      }
      const arriving = !stream.readableEnded && !stream.endAfterHeaders;
      if (bodyLeft === undefined || !arriving || (bodyLeft === "ifLarge" && !unbounded(headers, maxBytes))) return;
      // RST_STREAM(NO_ERROR) once the answer is out: close() waits for a 'finish' that has not come yet.
      const rst = () => {
        if (!stream.closed && !stream.destroyed) stream.close(NGHTTP2_NO_ERROR);
      };
      if (stream.writableFinished) rst();
      else stream.once("finish", rst);
    },
  };
}

function noop(): void {}
