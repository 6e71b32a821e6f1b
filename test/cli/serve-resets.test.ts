/**
 * "Rapid reset" through the real binary, unauthenticated: streams that each carry HEADERS, the
 * first byte of a body and RST_STREAM CANCEL, a thousand of them in one write. The proxy reads a
 * stream's frames together, and the stream is destroyed before the server's 'stream' event; it
 * then has no session, and serve's per-connection stream count threw on it: an uncaught
 * exception that ended the process (a worker: replaced, and ended again by the next write). Now
 * the process stays up and answers. node:http2's client cannot send this (it drops the frames of
 * a stream reset before they are sent), so the frames are written by hand.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { test } from "node:test";
import { exchangeFrames, F, frame, PREFACE, requestBlock, T, u32 } from "../helpers/h2-frames.js";
import { keyPath } from "../helpers/proxy.js";
import { logLines, servedToken, startServe } from "../helpers/serve-process.js";
import { PREFIX } from "../helpers/settings.js";
import { send } from "../helpers/sign.js";

const served = servedToken();

/** One connection: `n` Encrypt streams of HEADERS, DATA "{" and RST_STREAM, in one write; resolves once the proxy has read it all. */
async function rapidReset(port: number, n: number): Promise<void> {
  const block = requestBlock("POST", keyPath(PREFIX, "foo", "encrypt"), `localhost:${port}`);
  const frames = [PREFACE, frame(T.SETTINGS, 0, 0)];
  for (let i = 0; i < n; i++) {
    const id = 1 + 2 * i;
    frames.push(frame(T.HEADERS, F.END_HEADERS, id, block), frame(T.DATA, 0, id, Buffer.from("{")), frame(T.RST_STREAM, 0, id, u32(http2.constants.NGHTTP2_CANCEL)));
  }
  await exchangeFrames({ port, ca: served.ca, chunks: [Buffer.concat(frames)], timeoutMs: 30_000 });
}

test("a thousand streams of HEADERS, DATA and RST_STREAM in one write, five times: serve stays up and answers", { timeout: 60_000 }, async () => {
  const s = await startServe(served.config({ server: { workers: 1 } }, "resets.toml"), served.token.env);
  try {
    for (let round = 0; round < 5 && s.proc.exitCode === null; round++) await rapidReset(s.port, 1000);
    const ping = await send(`${s.url}/ping`, "GET", {}, undefined, served.h2).catch((e: Error) => ({ status: e.message }));
    assert.equal(s.proc.exitCode, null, `serve is still running\n${s.stderr()}`);
    assert.equal(ping.status, 200, s.stderr());
    assert.deepEqual(logLines(s).filter((l) => l.level === "ERROR"), [], s.stdout());
  } finally {
    if (s.proc.exitCode === null) await s.stop();
  }
});
