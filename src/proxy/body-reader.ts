/**
 * Reads an admitted request's body, bounded in size and time: more than `maxBytes` stops at once
 * with 501 UnsupportedOperationException (the rest is never read), a body not complete within
 * `timeoutMs` is 400 ValidationException, and a client that goes away before the end is
 * ClientGone (nothing to answer). The caller closes the stream or connection after answering.
 */
import type { Readable } from "node:stream";
import { XksError } from "./errors.js";

/** The client closed the stream or connection before its body ended. */
export class ClientGone extends Error {
  constructor(readonly bytes: number) {
    super("the client closed the request before its body ended");
    this.name = "ClientGone";
  }
}

/** Bounds of one body. */
export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
}

/** Reads the whole body or rejects with XksError (bodyTooLarge, requestTimeout) or ClientGone. */
export function readBody(req: Readable, limits: BodyLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (err: Error | undefined, body?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
      if (err) reject(err);
      else resolve(body!);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) settle(new XksError("bodyTooLarge", { detail: `more than ${limits.maxBytes} bytes without an end` }));
      else chunks.push(chunk);
    };
    const onEnd = () => settle(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    const onClose = () => settle(new ClientGone(size));
    const timer = setTimeout(
      () => settle(new XksError("requestTimeout", { detail: `the body was not complete after ${limits.timeoutMs} ms (${size} bytes so far)` })),
      limits.timeoutMs,
    );
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("close", onClose);
  });
}
