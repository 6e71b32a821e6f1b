/**
 * Fuzzing the front door: a seeded generator of signed, malformed, truncated, oversized and
 * nested inputs (bodies, headers, query strings, paths, content types), sent over HTTP/2 and over
 * HTTP/1.1 (raw TLS bytes, so even what no client library would send). Every case must get an
 * answer (no reset) within a per-case bound (no hang), and no 5xx: the one 5xx an input may get
 * is the spec's own answer to a parameter larger than the proxy supports, 501
 * UnsupportedOperationException. A second family writes HTTP/2 frames by hand, what node:http2's
 * client never sends (a stream's HEADERS, DATA and RST_STREAM together, frames out of order, bad
 * flags, sizes and stream ids, unknown types): the proxy must then answer a PING, or send GOAWAY,
 * or close the connection (no hang), and nothing may throw in it. Afterwards the proxy still
 * answers a good signed request and /ping, with nothing left in flight.
 *
 * XKSCTL_FUZZ_SEED=<n> replays a run (the seed is printed when a case fails); XKSCTL_FUZZ_CASES=<n>
 * changes the number of cases (default 320), XKSCTL_FUZZ_FRAME_CASES=<n> that of the frame cases (200).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import tls from "node:tls";
import { after, before, test } from "node:test";
import type { Agent } from "undici";
import { exchangeFrames, F, frame, PREFACE, requestBlock, T, u32 } from "../helpers/h2-frames.js";
import { keyPath, md, startTestProxy, type TestProxy } from "../helpers/proxy.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { agents, send, smithyPost, smithySign } from "../helpers/sign.js";
import { until } from "../helpers/wait.js";

const SEED = Number(process.env.XKSCTL_FUZZ_SEED ?? 0x5eed8);
const CASES = Number(process.env.XKSCTL_FUZZ_CASES ?? 320);
const FRAME_CASES = Number(process.env.XKSCTL_FUZZ_FRAME_CASES ?? 200);
/** A case without an answer by then has hung (well above body_timeout_milli below). */
const CASE_TIMEOUT_MS = 5000;

/** mulberry32: small, seedable, good enough to pick inputs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = ReturnType<typeof prng>;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rand, p: number) => r() < p;
const bytes = (r: Rand, n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));

/** One generated request. */
interface Case {
  n: number;
  transport: "h2" | "h1";
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  sign: boolean;
  /** h1 only: raw bytes replacing the well-formed request (malformed HTTP). */
  raw?: Buffer;
  /** h1 only: send fewer body bytes than content-length says, then wait. */
  shortBody?: boolean;
  what: string[];
}

const OPS = ["encrypt", "decrypt", "metadata"] as const;
const KEYS = ["foo", "enc-only", "dec-only", "disabled-key", "not-in-hsm", "bar", "", ".", "..", "%zz", "a".repeat(200)];

function b64ish(r: Rand): unknown {
  return pick(r, [
    "",
    "AAAA",
    "AA==",
    "A",
    "not base64!",
    "-_-_",
    "AAAA====",
    Buffer.alloc(Math.floor(r() * 64)).toString("base64"),
    Buffer.alloc(12).toString("base64"),
    Buffer.alloc(16).toString("base64"),
    Buffer.alloc(21).toString("base64"),
    Buffer.alloc(7000).toString("base64"),
    42,
    null,
    true,
    [],
    {},
    "\u0000\u00ff\ud83d\ude00",
  ]);
}

function nested(r: Rand): unknown {
  const depth = pick(r, [2, 50, 500, 2000]);
  return chance(r, 0.5) ? JSON.parse("[".repeat(depth) + "]".repeat(depth)) : JSON.parse('{"a":'.repeat(depth) + "1" + "}".repeat(depth));
}

/** A body: valid for the operation, then mutated. */
function body(r: Rand, op: string, what: string[]): Buffer {
  const meta: Record<string, unknown> = md(op === "health" ? "KmsHealthCheck" : op === "metadata" ? "CreateKey" : op === "decrypt" ? "Decrypt" : "Encrypt");
  const b: Record<string, unknown> = { requestMetadata: meta };
  if (op === "encrypt") Object.assign(b, { plaintext: "AAAA", encryptionAlgorithm: "AES_GCM" });
  if (op === "decrypt") {
    Object.assign(b, { ciphertext: "AAAA", encryptionAlgorithm: "AES_GCM", initializationVector: Buffer.alloc(12).toString("base64"), authenticationTag: Buffer.alloc(16).toString("base64") });
  }
  const fields = ["plaintext", "ciphertext", "encryptionAlgorithm", "additionalAuthenticatedData", "ciphertextDataIntegrityValueAlgorithm", "initializationVector", "authenticationTag", "ciphertextMetadata", "requestMetadata"];
  const metaFields = ["kmsRequestId", "kmsOperation", "awsPrincipalArn", "kmsKeyArn", "awsSourceVpc", "kmsViaService"];
  for (let i = pick(r, [0, 0, 1, 1, 2, 3]); i > 0; i--) {
    const kind = pick(r, ["drop", "value", "meta-drop", "meta-value", "nested", "unknown", "huge-arn", "proto"]);
    what.push(`body:${kind}`);
    if (kind === "drop") delete b[pick(r, fields)];
    else if (kind === "value") b[pick(r, fields)] = chance(r, 0.7) ? b64ish(r) : pick(r, ["AES_GCM", "AES_CBC", "SHA_256", "MD5", ""]);
    else if (kind === "meta-drop") delete meta[pick(r, metaFields)];
    else if (kind === "meta-value") meta[pick(r, metaFields)] = pick(r, [42, null, "", [], {}, "x".repeat(3000)]);
    else if (kind === "nested") b[pick(r, [...fields, "extra"])] = nested(r);
    else if (kind === "unknown") b[`unknown${Math.floor(r() * 100)}`] = nested(r);
    else if (kind === "huge-arn") meta.awsPrincipalArn = `arn:aws:iam::123456789012:user/${"a".repeat(2048)}`;
    else b.requestMetadata = JSON.parse('{"__proto__":{"kmsRequestId":"x"},"constructor":1}');
  }
  let text = JSON.stringify(b);
  const shape = pick(r, ["json", "json", "json", "json", "truncated", "bytes", "empty", "oversized", "array", "scalar", "deep"]);
  what.push(`shape:${shape}`);
  if (shape === "truncated") text = text.slice(0, Math.floor(r() * text.length));
  if (shape === "empty") text = "";
  if (shape === "array") text = "[]";
  if (shape === "scalar") text = pick(r, ["null", "1", '"s"', "true"]);
  if (shape === "deep") text = `{"requestMetadata":${"[".repeat(30_000)}${"]".repeat(30_000)},"plaintext":"AAAA"}`;
  if (shape === "oversized") text = JSON.stringify({ ...b, pad: "x".repeat(64 * 1024 + Math.floor(r() * 150_000)) });
  if (shape === "bytes") return bytes(r, Math.floor(r() * 2000));
  return Buffer.from(text);
}

function path(r: Rand, op: string, what: string[]): string {
  let p = op === "health" ? `${PREFIX}/kms/xks/v1/health` : keyPath(PREFIX, pick(r, KEYS), op as "encrypt");
  const kind = pick(r, ["ok", "ok", "ok", "ok", "query", "escape", "dots", "slashes", "unknown-prefix", "long", "ping-ish"]);
  what.push(`path:${kind}`);
  if (kind === "query") p += pick(r, ["?a=%zz", "?", "?x", "?a=1&b=2", "?%", "?a=%E0%A4%A"]);
  if (kind === "escape") p = p.replace("/kms/", pick(r, ["/%6Bms/", "/k%zzms/", "/%00/", "/%2F/"]));
  if (kind === "dots") p = p.replace("/kms/", "/./kms/../kms/");
  if (kind === "slashes") p = `/${p}`;
  if (kind === "unknown-prefix") p = p.replace(PREFIX, "/nope");
  if (kind === "long") p += "/x".repeat(3000);
  if (kind === "ping-ish") p = pick(r, ["/ping?x", "/ping/", "/PING", "/"]);
  return p;
}

function headers(r: Rand, what: string[]): Record<string, string> {
  const h: Record<string, string> = {};
  const ct = pick(r, ["application/json", "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain", "", "application/jsonx", undefined]);
  if (ct !== undefined) h["content-type"] = ct;
  if (chance(r, 0.15)) {
    const kind = pick(r, ["auth-garbage", "auth-partial", "date-garbage", "huge", "sha-mismatch"]);
    what.push(`header:${kind}`);
    if (kind === "auth-garbage") h.authorization = pick(r, ["", "AWS4-HMAC-SHA256", "Basic Zm9vOmJhcg==", "AWS4-HMAC-SHA256 Credential=/,,,=", "x".repeat(5000)]);
    if (kind === "auth-partial") h.authorization = `AWS4-HMAC-SHA256 Credential=${CREDS.main.id}/20990101/us-east-1/kms-xks-proxy/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`;
    if (kind === "date-garbage") h["x-amz-date"] = pick(r, ["", "yesterday", "99999999T999999Z", "20240230T250000Z"]);
    if (kind === "huge") h["x-fuzz"] = "v".repeat(Math.floor(r() * 12_000));
    if (kind === "sha-mismatch") h["x-amz-content-sha256"] = "0".repeat(64);
  }
  return h;
}

/** Raw malformed HTTP/1.1 requests (what only a hand-written client sends). */
function malformedHttp1(r: Rand, what: string[]): Buffer {
  const kind = pick(r, ["bad-line", "bare-lf", "bad-header", "bad-chunked", "cl-and-te", "no-host", "huge-header", "http09", "binary"]);
  what.push(`raw:${kind}`);
  const p = keyPath(PREFIX, "foo", "encrypt");
  switch (kind) {
    case "bad-line":
      return Buffer.from(`POST  ${p} HTTP/1.1 extra\r\nhost: localhost\r\n\r\n`);
    case "bare-lf":
      return Buffer.from(`POST ${p} HTTP/1.1\nhost: localhost\ncontent-length: 2\n\n{}`);
    case "bad-header":
      return Buffer.from(`POST ${p} HTTP/1.1\r\nhost: localhost\r\nbad header: x\r\ncontent-length: 2\r\n\r\n{}`);
    case "bad-chunked":
      return Buffer.from(`POST ${p} HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`);
    case "cl-and-te":
      return Buffer.from(`POST ${p} HTTP/1.1\r\nhost: localhost\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`);
    case "no-host":
      return Buffer.from(`POST ${p} HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}`);
    case "huge-header":
      return Buffer.from(`POST ${p} HTTP/1.1\r\nhost: localhost\r\nx-big: ${"a".repeat(40_000)}\r\n\r\n`);
    case "http09":
      return Buffer.from(`GET ${p}\r\n\r\n`);
    default:
      return bytes(r, 200);
  }
}

function generate(r: Rand, n: number): Case {
  const what: string[] = [];
  const transport = chance(r, 0.5) ? "h2" : "h1";
  const op = pick(r, [...OPS, "health"]);
  const method = chance(r, 0.9) ? "POST" : pick(r, ["GET", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]);
  const c: Case = { n, transport, method, path: path(r, op, what), headers: headers(r, what), body: body(r, op, what), sign: chance(r, 0.75), what };
  if (transport === "h1" && chance(r, 0.12)) c.raw = malformedHttp1(r, what);
  if (transport === "h1" && !c.raw && chance(r, 0.04)) {
    c.shortBody = true;
    what.push("h1:short-body");
  }
  what.unshift(`${transport} ${method} ${op}${c.sign ? " signed" : ""}`);
  return c;
}

let proxy: TestProxy;
let ca: Buffer;
let h2agent: Agent;

before(async () => {
  // Short body timeout: the "short body" cases wait for it.
  proxy = await startTestProxy({ patch: { server: { body_timeout_milli: 300, headers_timeout_milli: 1000 }, tracing: { level: "ERROR" } } });
  ca = readFileSync(proxy.pki.caCert);
  ({ h2: h2agent } = agents(ca));
});
after(async () => {
  await h2agent.close();
  await proxy.close();
});

/** Signs with @smithy/signature-v4 (query included, as sent) and returns the headers to send. */
function signed(c: Case): Promise<Record<string, string>> {
  const q = c.path.indexOf("?");
  const query: Record<string, string> = {};
  if (q >= 0) {
    for (const part of c.path.slice(q + 1).split("&").filter(Boolean)) {
      const [k, v = ""] = part.split("=");
      query[k!] = v;
    }
  }
  const url = `${proxy.url}${q < 0 ? c.path : c.path.slice(0, q)}`;
  return smithySign(url, c.body, { accessKeyId: CREDS.main.id, secret: CREDS.main.secret, method: c.method, query, headers: c.headers, contentHeaders: false });
}

/** The outcome of one case: a status, or what went wrong on the wire. */
type Outcome = { status: number; text: string } | { failure: string };

function sendH2(c: Case, headers: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    const session = http2.connect(proxy.url, { ca });
    session.on("error", (err) => resolve({ failure: `session error ${err.message}` }));
    const req = session.request({ ":method": c.method, ":path": c.path, ...headers }, { endStream: c.body.length === 0 });
    let status: number | undefined;
    let text = "";
    req.on("response", (h) => (status = Number(h[":status"])));
    req.setEncoding("utf8");
    req.on("data", (d: string) => (text += d));
    const done = () => {
      session.destroy();
      resolve(status === undefined ? { failure: `stream closed without a response (RST code ${req.rstCode})` } : { status, text });
    };
    req.on("error", (err) => (status === undefined ? resolve({ failure: `stream error ${err.message}` }) : undefined));
    // The answer is complete at its END_STREAM; the proxy may then cut off a body still being sent.
    req.on("end", done);
    req.on("close", done);
    if (c.body.length > 0) {
      // In pieces, as a slow or streaming client would send it.
      const cut = Math.floor(c.body.length / 2);
      req.write(c.body.subarray(0, cut));
      setImmediate(() => req.end(c.body.subarray(cut)));
    }
  });
}

function sendH1(c: Case, headers: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port: proxy.port, servername: "localhost", ca, ALPNProtocols: ["http/1.1"] });
    let received = "";
    const done = (why?: string) => {
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(received);
      resolve(m ? { status: Number(m[1]), text: received } : { failure: why ?? `connection closed without a response (${received.length} bytes)` });
    };
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      received += d;
      // An answer is complete once its body (content-length) is in; a kept-alive connection stays open.
      const head = received.indexOf("\r\n\r\n");
      const len = /\r\ncontent-length: (\d+)/i.exec(received.slice(0, head));
      if (head >= 0 && len && received.length >= head + 4 + Number(len[1])) {
        done();
        socket.destroy();
      }
    });
    socket.on("error", (err) => done(`socket error ${err.message}`));
    socket.on("close", () => done());
    socket.once("secureConnect", () => {
      if (c.raw) return void socket.write(c.raw);
      const sent = c.shortBody ? c.body.subarray(0, Math.floor(c.body.length / 2)) : c.body;
      const lines = [`${c.method} ${c.path} HTTP/1.1`, `host: localhost:${proxy.port}`, "connection: close", `content-length: ${c.body.length}`];
      for (const [k, v] of Object.entries(headers)) if (k !== "content-length") lines.push(`${k}: ${v}`);
      socket.write(Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`), sent]));
    });
  });
}

async function run(c: Case): Promise<Outcome> {
  const headers = c.sign && !c.raw ? await signed(c) : c.headers;
  const sent = c.transport === "h2" ? sendH2(c, headers) : sendH1(c, headers);
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<Outcome>((r) => (timer = setTimeout(() => r({ failure: `no answer within ${CASE_TIMEOUT_MS} ms` }), CASE_TIMEOUT_MS)));
  try {
    return await Promise.race([sent, hung]);
  } finally {
    clearTimeout(timer);
  }
}

test(`fuzz: ${CASES} generated requests (seed ${SEED}): no 5xx, no reset, no hang`, { timeout: 120_000 }, async () => {
  const r = prng(SEED);
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  for (let n = 0; n < CASES; n++) {
    const c = generate(r, n);
    const out = await run(c);
    if ("status" in out) statuses.set(out.status, (statuses.get(out.status) ?? 0) + 1);
    const tooLarge = "status" in out && out.status === 501 && out.text.includes('"errorName":"UnsupportedOperationException"');
    const bad = "failure" in out ? out.failure : out.status >= 500 && !tooLarge ? `status ${out.status}: ${out.text.slice(-200)}` : undefined;
    if (bad) failures.push(`case ${n} [${c.what.join(", ")}] ${c.path.slice(0, 80)}: ${bad}`);
  }
  const summary = [...statuses].sort((a, b) => a[0] - b[0]).map(([s, k]) => `${k}× ${s}`).join(", ");
  assert.deepEqual(failures, [], `seed ${SEED} (replay with XKSCTL_FUZZ_SEED=${SEED}); statuses: ${summary}\n${failures.slice(0, 20).join("\n")}`);
  // The inputs reached every layer: routing, admission, SigV4, the JSON checks and the HSM.
  for (const s of [200, 400, 401, 404]) assert.ok((statuses.get(s) ?? 0) > 0, `some case got ${s}: ${summary}`);
});

// ------------------------------------------------------------------ HTTP/2 frames by hand

/** How one stream of a generated connection is sent. */
const SHAPES = [
  "headers+end", "headers+data+end", "headers+data+rst", "headers+rst", "headers+data", "continuation",
  "padded", "bad-padding", "priority", "self-dependency", "window-update", "window-zero", "data-first",
  "rst-idle", "oversized-frame", "unknown-type", "settings", "bad-settings", "ping", "window-overflow",
] as const;

/** The frames of one stream (or one connection-level frame) in the shape `shape`. */
function shapeFrames(r: Rand, shape: (typeof SHAPES)[number], id: number, block: Buffer): Buffer[] {
  const data = (flags: number) => frame(T.DATA, flags, id, Buffer.from(pick(r, ["{", "{", '{"requestMetadata":{}}', "", "x".repeat(Math.floor(r() * 3000))])));
  const rst = () => frame(T.RST_STREAM, 0, id, u32(pick(r, [0x0, 0x1, 0x2, 0x7, 0x8, 0xd, 0xff])));
  const head = (flags: number) => frame(T.HEADERS, F.END_HEADERS | flags, id, block);
  switch (shape) {
    case "headers+end": return [head(F.END_STREAM)];
    case "headers+data+end": return [head(0), data(F.END_STREAM)];
    case "headers+data+rst": return [head(0), data(0), rst()];
    case "headers+rst": return [head(0), rst()];
    case "headers+data": return [head(0), data(0)]; // left open: body_timeout_milli ends it
    case "continuation": {
      const cut = Math.floor(r() * block.length);
      return [frame(T.HEADERS, chance(r, 0.8) ? F.END_STREAM : 0, id, block.subarray(0, cut)), frame(T.CONTINUATION, F.END_HEADERS, id, block.subarray(cut))];
    }
    case "padded": {
      const pad = Math.floor(r() * 40);
      return [frame(T.HEADERS, F.END_HEADERS | F.END_STREAM | F.PADDED, id, Buffer.concat([Buffer.from([pad]), block, Buffer.alloc(pad)]))];
    }
    case "bad-padding": return [frame(T.HEADERS, F.END_HEADERS | F.PADDED, id, Buffer.concat([Buffer.from([255]), block.subarray(0, 4)]))];
    case "priority": return [frame(T.PRIORITY, 0, id, Buffer.concat([u32(id + 2), Buffer.from([Math.floor(r() * 256)])])), head(F.END_STREAM)];
    case "self-dependency": return [frame(T.HEADERS, F.END_HEADERS | F.END_STREAM | F.PRIORITY, id, Buffer.concat([u32(id), Buffer.from([16]), block]))];
    case "window-update": return [head(0), frame(T.WINDOW_UPDATE, 0, id, u32(1 + Math.floor(r() * 65535))), data(F.END_STREAM)];
    case "window-zero": return [head(0), frame(T.WINDOW_UPDATE, 0, pick(r, [0, id]), u32(0)), data(F.END_STREAM)];
    case "window-overflow": return [frame(T.WINDOW_UPDATE, 0, pick(r, [0, id]), u32(0x7fffffff)), head(F.END_STREAM)];
    case "data-first": return [data(F.END_STREAM)];
    case "rst-idle": return [rst()];
    case "oversized-frame": return [head(0), frame(T.DATA, F.END_STREAM, id, Buffer.alloc(16_385))];
    case "unknown-type": return [frame(0x20 + Math.floor(r() * 200), Math.floor(r() * 256), pick(r, [0, id]), bytes(r, Math.floor(r() * 100))), head(F.END_STREAM)];
    case "settings": return [frame(T.SETTINGS, 0, 0, Buffer.concat([Buffer.from([0, pick(r, [1, 2, 3, 4, 5, 6, 8, 9, 0x7f])]), u32(Math.floor(r() * 70000))]))];
    case "bad-settings": return [frame(T.SETTINGS, pick(r, [0, F.ACK]), pick(r, [0, id]), bytes(r, pick(r, [3, 5, 6, 7])))];
    case "ping": return [frame(T.PING, pick(r, [0, F.ACK]), pick(r, [0, id]), bytes(r, pick(r, [8, 8, 7, 9])))];
  }
}

/** One connection's bytes: the preface, then streams of generated shapes, as one to three writes. */
function generateConnection(r: Rand): { chunks: Buffer[]; what: string[] } {
  const what: string[] = [];
  const authority = `localhost:${proxy.port}`;
  const frames: Buffer[] = [PREFACE, frame(T.SETTINGS, 0, 0)];
  let id = 1;
  // One connection in ten is a burst ("rapid reset"): hundreds of streams in one write. (Measured
  // in-process: 100 streams of HEADERS, DATA and RST_STREAM in one write never destroyed a stream
  // before its 'stream' event, 200 and more did; more than one TLS record of them, 16 KiB, is the
  // likely reason, not confirmed in Node's source.)
  const burst = chance(r, 0.1);
  if (burst) what.push("burst");
  for (let i = burst ? 250 + Math.floor(r() * 500) : 1 + Math.floor(r() * 30); i > 0; i--) {
    const shape = burst ? pick(r, ["headers+data+rst", "headers+data+rst", "headers+data+rst", "headers+rst", "headers+data+end"] as const) : pick(r, SHAPES);
    if (!burst) what.push(shape);
    const block = chance(r, 0.05) ? bytes(r, 1 + Math.floor(r() * 30)) : requestBlock(pick(r, ["POST", "POST", "GET"]), pick(r, [keyPath(PREFIX, "foo", "encrypt"), keyPath(PREFIX, "foo", "metadata"), "/ping", "/"]), authority);
    frames.push(...shapeFrames(r, shape, id, block));
    // Now and then a stream id used before, or an even one (client streams are odd): protocol errors.
    id = chance(r, 0.04) ? pick(r, [id, id + 1, Math.max(1, id - 2)]) : id + 2;
  }
  const all = Buffer.concat(frames);
  const cuts = [0, ...Array.from({ length: burst ? 0 : Math.floor(r() * 3) }, () => Math.floor(r() * all.length)).sort((a, b) => a - b), all.length];
  return { chunks: cuts.slice(1).map((end, i) => all.subarray(cuts[i], end)), what };
}

test(`fuzz: ${FRAME_CASES} generated HTTP/2 connections of hand-written frames (seed ${SEED}): a PING answer or GOAWAY, nothing thrown in the proxy`, { timeout: 120_000 }, async () => {
  const r = prng(SEED ^ 0xf4a3e);
  const failures: string[] = [];
  // Anything thrown outside a request's own handling (in an event listener of the server) is an
  // uncaught exception: in serve it ends the process. Record it against the case that caused it.
  let current = "";
  const thrown = (err: Error) => failures.push(`${current}: uncaught ${err.message}`);
  process.on("uncaughtException", thrown);
  try {
    for (let n = 0; n < FRAME_CASES; n++) {
      const { chunks, what } = generateConnection(r);
      current = `frame case ${n} [${what.join(", ")}]`;
      // A PING answer, a GOAWAY (a protocol error in the frames) or a close: anything but silence.
      const x = await exchangeFrames({ port: proxy.port, ca, chunks, timeoutMs: CASE_TIMEOUT_MS });
      if (x.outcome === "timeout") failures.push(`${current}: no PING answer, GOAWAY or close within ${CASE_TIMEOUT_MS} ms; frames received: ${x.received.join(" ")}`);
    }
    // Streams left open end by body_timeout_milli or with their connection; then nothing is in flight.
    await until(() => proxy.server.stats().inFlight === 0, "the frame cases' requests to leave the in-flight count");
  } finally {
    process.off("uncaughtException", thrown);
  }
  assert.deepEqual(failures, [], `seed ${SEED} (replay with XKSCTL_FUZZ_SEED=${SEED})\n${failures.slice(0, 20).join("\n")}`);
});

test("after the fuzz run the proxy still answers a good signed request and /ping", async () => {
  const r = await smithyPost(`${proxy.url}${keyPath(PREFIX, "foo", "encrypt")}`, { requestMetadata: md(), plaintext: "AAAA", encryptionAlgorithm: "AES_GCM" }, h2agent, { accessKeyId: CREDS.main.id, secret: CREDS.main.secret });
  assert.equal(r.status, 200, r.text);
  const ping = await send(`${proxy.url}/ping`, "GET", {}, undefined, h2agent);
  assert.equal(ping.status, 200);
  assert.equal(proxy.server.stats().inFlight, 0, "nothing left in flight");
  assert.doesNotMatch(proxy.rawLog(), /"level":"ERROR"/, "no error was logged (the 501s of oversized inputs are warnings)");
});
