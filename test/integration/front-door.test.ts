/**
 * The front door (issue 8), one test per defect: query strings, empty data fields, fixed
 * errorMessages, timeouts and limits before authentication, a body over the cap ending its
 * stream at once, an aborted HTTP/1.1 upload, and admission (429) before the body is read.
 * Every test asserts an outcome (a status, a closed connection, a count), never a duration.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";
import type { Agent } from "undici";
import { keyPath, md, startTestProxy, type TestProxy } from "../helpers/proxy.js";
import { servedToken } from "../helpers/serve-process.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { agents, send, smithyPost, smithySign, type WireResponse } from "../helpers/sign.js";
import { until } from "../helpers/wait.js";

const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };
const encBody = (extra: Record<string, unknown> = {}) => ({ requestMetadata: md(), plaintext: "AAAA", encryptionAlgorithm: "AES_GCM", ...extra });
const ENCRYPT = keyPath(PREFIX, "foo", "encrypt");

const served = servedToken();

function assertXks(r: WireResponse, status: number, errorName: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.errorName, errorName, r.text);
}

/** Resolves when the socket closes (the test's own timeout fails a socket the proxy keeps open). */
const closed = (s: net.Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once("close", () => r())));

/** A TLS connection speaking HTTP/1.1, collecting what it receives. */
function h1(port: number): Promise<{ socket: tls.TLSSocket; received: () => string }> {
  return new Promise((resolve, reject) => {
    let text = "";
    const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: served.ca, ALPNProtocols: ["http/1.1"] }, () => resolve({ socket, received: () => text }));
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (text += d));
    socket.on("error", reject);
  });
}

describe("requests KMS never sends are 4xx, never 500", () => {
  let proxy: TestProxy;
  let h2: Agent;
  before(async () => {
    proxy = await startTestProxy({ token: served.token, pki: served.pki });
    ({ h2 } = agents(served.ca));
  });
  after(async () => {
    await h2.close();
    await proxy.close();
  });

  test("a query string with a malformed escape (?a=%zz) is 400 ValidationException, refused before SigV4, with no stack in the log", async () => {
    // Signed for the path; before the fix, decodeURIComponent threw while canonicalising the query: 500.
    const body = JSON.stringify(encBody());
    const r = await send(`${proxy.url}${ENCRYPT}?a=%zz`, "POST", await smithySign(`${proxy.url}${ENCRYPT}`, body, main), body, h2);
    assertXks(r, 400, "ValidationException");
    assert.equal(r.json.errorMessage, "the XKS API takes no query string");
    assert.doesNotMatch(proxy.rawLog(), /\bat .*\(.*:\d+:\d+\)|decodeURIComponent/, "no stack trace in the log");
  });

  test("a correctly signed request with a well-formed query string is refused too (400, not 200)", async () => {
    const body = JSON.stringify(encBody());
    const headers = await smithySign(`${proxy.url}${ENCRYPT}`, body, { ...main, query: { a: "b" } });
    assertXks(await send(`${proxy.url}${ENCRYPT}?a=b`, "POST", headers, body, h2), 400, "ValidationException");
  });

  test("Encrypt with an empty plaintext is 400 ValidationException (the HSM refuses it: it was 500)", async () => {
    const r = await smithyPost(`${proxy.url}${ENCRYPT}`, encBody({ plaintext: "" }), h2, main);
    assertXks(r, 400, "ValidationException");
    assert.equal(r.json.errorMessage, "plaintext must not be empty");
  });

  test("Decrypt with an empty ciphertext is 400 ValidationException", async () => {
    const body = { requestMetadata: md("Decrypt"), encryptionAlgorithm: "AES_GCM", ciphertext: "", initializationVector: Buffer.alloc(12).toString("base64"), authenticationTag: Buffer.alloc(16).toString("base64") };
    assertXks(await smithyPost(`${proxy.url}${keyPath(PREFIX, "foo", "decrypt")}`, body, h2, main), 400, "ValidationException");
  });

  test("errorMessage echoes nothing of the request (the 405 used to name the method)", async () => {
    const r = await send(`${proxy.url}${ENCRYPT}`, "DELETE", {}, undefined, h2);
    assertXks(r, 405, "ValidationException");
    assert.equal(r.json.errorMessage, "the XKS API accepts only POST on this path");
  });

  test("limits in errorMessage are not disclosed (the size and the limit go to the log)", async () => {
    const r = await smithyPost(`${proxy.url}${ENCRYPT}`, encBody({ plaintext: Buffer.alloc(6200).toString("base64") }), h2, main);
    assertXks(r, 501, "UnsupportedOperationException");
    assert.equal(r.json.errorMessage, "plaintext is larger than this proxy supports");
    assert.ok(proxy.logs.some((l) => l.status === 501 && /\[limits\] allows 8192/.test(String(l.detail))));
  });
});

describe("timeouts and limits before authentication", () => {
  let proxy: TestProxy;
  before(async () => {
    proxy = await startTestProxy({
      token: served.token,
      pki: served.pki,
      patch: { server: { tls_handshake_timeout_milli: 300, headers_timeout_milli: 300, body_timeout_milli: 300, idle_timeout_milli: 1000, max_connections: 4 } },
    });
  });
  after(() => proxy.close());

  test("a TCP connection that never starts its TLS handshake is closed", async () => {
    const s = net.connect(proxy.port, "127.0.0.1");
    s.on("error", () => undefined);
    await closed(s);
  });

  test("an HTTP/2 connection that never opens a stream is closed (GOAWAY)", async () => {
    const session = http2.connect(proxy.url, { ca: served.ca });
    session.on("error", () => undefined);
    let goaway = false;
    session.once("goaway", () => (goaway = true));
    await new Promise<void>((r) => session.once("close", () => r()));
    assert.ok(goaway, "the proxy sent GOAWAY before the connection closed");
  });

  test("HTTP/1.1 headers that never end: JSON 400 and the connection is closed", async () => {
    const { socket, received } = await h1(proxy.port);
    socket.write(`POST ${ENCRYPT} HTTP/1.1\r\nhost: localhost\r\nx-slow: `);
    await closed(socket);
    assert.match(received(), /^HTTP\/1\.1 400 /);
    assert.match(received(), /"errorName":"ValidationException","errorMessage":"the request did not arrive in time"/);
  });

  test("a body that stops arriving: 400 ValidationException and the HTTP/1.1 connection is closed", async () => {
    const { socket, received } = await h1(proxy.port);
    socket.write(`POST ${ENCRYPT} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"request`);
    await closed(socket);
    assert.match(received(), /^HTTP\/1\.1 400 [^]*connection: close[^]*"the request did not arrive in time"/i);
  });

  test("a body that stops arriving over HTTP/2: 400 and the stream is ended", async () => {
    const session = http2.connect(proxy.url, { ca: served.ca });
    const req = session.request({ ":method": "POST", ":path": ENCRYPT, "content-type": "application/json" });
    req.write("{");
    const [headers] = await Promise.all([new Promise<http2.IncomingHttpHeaders>((r) => req.once("response", r)), new Promise((r) => req.on("data", r))]);
    assert.equal(headers[":status"], 400);
    session.destroy();
  });

  test("an idle connection is closed after idle_timeout_milli", async () => {
    // One request first, so that the headers timeout (300 ms here) cannot be what closes it.
    const { socket, received } = await h1(proxy.port);
    socket.write("GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n");
    await closed(socket);
    assert.match(received(), /^HTTP\/1\.1 200 /);
    assert.match(received(), /\r\nkeep-alive: timeout=1\r\n/i, "the idle timeout (1 s) is the keep-alive timeout announced");
  });

  test("connections over max_connections are closed at once; the ones within keep working", async () => {
    const held = await Promise.all([1, 2, 3, 4].map(() => h1(proxy.port)));
    const extra = net.connect(proxy.port, "127.0.0.1");
    extra.on("error", () => undefined);
    await closed(extra);
    const first = held[0]!;
    first.socket.write("GET /ping HTTP/1.1\r\nhost: localhost\r\n\r\n");
    await new Promise<void>((r) => first.socket.once("data", () => r()));
    assert.match(first.received(), /^HTTP\/1\.1 200 /);
    for (const h of held) h.socket.destroy();
  });

  test("HTTP/2 allows 100 concurrent streams per connection, not 256", async () => {
    const session = http2.connect(proxy.url, { ca: served.ca });
    await new Promise<void>((r) => session.once("remoteSettings", () => r()));
    assert.equal(session.remoteSettings.maxConcurrentStreams, 100);
    session.destroy();
  });

  test("HTTP/2 opens the connection's receive window to 1 MiB (100 streams of Encrypt bodies nearly fill RFC 9113's 65,535 bytes)", async () => {
    const session = http2.connect(proxy.url, { ca: served.ca });
    try {
      // An answer comes after the proxy's SETTINGS and WINDOW_UPDATE.
      await new Promise<void>((resolve, reject) => session.request({ ":path": "/ping" }).on("error", reject).resume().on("end", resolve).end());
      assert.equal(session.state.remoteWindowSize, 1024 * 1024);
    } finally {
      session.destroy();
    }
  });
});

describe("a body over the cap ends its stream at once", () => {
  let proxy: TestProxy;
  before(async () => (proxy = await startTestProxy({ token: served.token, pki: served.pki })));
  after(() => proxy.close());

  test("HTTP/2, no content-length, 70 KiB sent and the stream left open: 501, and the proxy closes the stream", async () => {
    const session = http2.connect(proxy.url, { ca: served.ca });
    const req = session.request({ ":method": "POST", ":path": ENCRYPT, "content-type": "application/json" });
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (text += d));
    const status = new Promise<number>((r) => req.once("response", (h) => r(Number(h[":status"]))));
    for (let i = 0; i < 9; i++) req.write(Buffer.alloc(8192, 0x20)); // never ended: before the fix the proxy waited for the end
    assert.equal(await status, 501);
    await new Promise((r) => req.once("end", r));
    assert.equal(JSON.parse(text).errorName, "UnsupportedOperationException");
    await until(() => proxy.server.stats().streams === 0, "the proxy to close the stream");
    session.destroy();
  });

  test("HTTP/1.1 chunked, 70 KiB without the last chunk: 501 and the connection is closed", async () => {
    const { socket, received } = await h1(proxy.port);
    socket.write(`POST ${ENCRYPT} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`);
    for (let i = 0; i < 9; i++) socket.write(`2000\r\n${" ".repeat(8192)}\r\n`);
    await closed(socket);
    assert.match(received(), /^HTTP\/1\.1 501 [^]*"UnsupportedOperationException"/);
  });
});

describe("an aborted HTTP/1.1 upload", () => {
  test("is no longer in flight: SIGTERM's drain does not wait out the grace period", { timeout: 20_000 }, async () => {
    const proxy = await startTestProxy({ token: served.token, pki: served.pki });
    const { socket } = await h1(proxy.port);
    socket.write(`POST ${ENCRYPT} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"requestMetadata":`);
    await until(() => proxy.server.stats().inFlight > 0, "the upload to be admitted");
    assert.equal(proxy.server.stats().inFlight, 1, "the upload was admitted");
    socket.destroy();
    await until(() => proxy.server.stats().inFlight === 0, "the aborted upload to leave the in-flight count");
    // A grace period far beyond the test's timeout: close() must not wait for it.
    await proxy.server.close(600_000);
    await proxy.hsm.close();
  });
});

describe("admission control: 429 before the body is read or the signature checked", () => {
  let proxy: TestProxy;
  before(async () => (proxy = await startTestProxy({ token: served.token, pki: served.pki, patch: { server: { max_in_flight_requests: 1 } } })));
  after(() => proxy.close());

  test("with max_in_flight_requests taken, an unsigned request whose body never comes gets 429 at once", async () => {
    const session = http2.connect(proxy.url, { ca: served.ca });
    // The first request is admitted and waits for its body.
    const first = session.request({ ":method": "POST", ":path": ENCRYPT, "content-type": "application/json" });
    first.write("{");
    await until(() => proxy.server.stats().inFlight > 0, "the first request to be admitted");
    assert.equal(proxy.server.stats().inFlight, 1);
    // The second: no signature, no body sent, stream left open. Before the fix it waited for its body.
    const second = session.request({ ":method": "POST", ":path": ENCRYPT, "content-type": "application/json" });
    let text = "";
    second.setEncoding("utf8");
    second.on("data", (d: string) => (text += d));
    const status = await new Promise<number>((r) => second.once("response", (h) => r(Number(h[":status"]))));
    await new Promise((r) => second.once("end", r));
    assert.equal(status, 429);
    assert.equal(JSON.parse(text).errorName, "ThrottlingException");
    first.end("}");
    const firstStatus = await new Promise<number>((r) => first.once("response", (h) => r(Number(h[":status"]))));
    assert.equal(firstStatus, 401, "the admitted one is then checked (unsigned: 401)");
    session.destroy();
    // The summary line, written within a second: the count and the [server] key that refused them.
    const line = await until(() => proxy.logs.find((l) => l.msg === "requests refused with 429: the proxy is overloaded"), "the refusal summary line");
    assert.equal(line.count, 1);
    assert.equal(line.limit, "max_in_flight_requests");
    assert.equal(line.reason, "requests in flight at max_in_flight_requests = 1");
  });

  test("a refused HTTP/2 stream gets the same 429 as HTTP/1.1 and ends with NO_ERROR, and an admitted one's place is given back", async () => {
    // The 429 of admission control is rendered once (OVERLOADED) and sent through each protocol's
    // own path: a client must not be able to tell them apart.
    const session = http2.connect(proxy.url, { ca: served.ca });
    const first = session.request({ ":method": "POST", ":path": ENCRYPT, "content-type": "application/json" });
    first.write("{");
    await until(() => proxy.server.stats().inFlight > 0, "the first request to be admitted");
    const body = JSON.stringify(encBody());
    const second = session.request({ ":method": "POST", ":path": ENCRYPT, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
    second.end(body); // a declared small body: discarded as it arrives, the stream ends cleanly
    let text = "";
    second.setEncoding("utf8");
    second.on("data", (d: string) => (text += d));
    const headers = await new Promise<http2.IncomingHttpHeaders>((r) => second.once("response", r));
    await new Promise((r) => second.once("close", r));
    const { h1: agent } = agents(served.ca);
    const one = await send(`${proxy.url}${ENCRYPT}`, "POST", { "content-type": "application/json" }, body, agent);
    await agent.close();
    assert.equal(headers[":status"], 429);
    assert.equal(one.status, 429);
    assert.equal(text, one.text);
    assert.equal(JSON.parse(text).errorName, "ThrottlingException");
    assert.equal(headers["content-type"], one.headers["content-type"]);
    assert.equal(headers["content-length"], String(Buffer.byteLength(text)));
    assert.equal(headers["content-length"], one.headers["content-length"]);
    assert.equal(second.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    first.end("}");
    const firstStatus = await new Promise<number>((r) => first.once("response", (h) => r(Number(h[":status"]))));
    assert.equal(firstStatus, 401, "the admitted one is then checked (unsigned: 401)");
    await until(() => proxy.server.stats().inFlight === 0, "the admitted request's place to be given back");
    // And the place is free again: the next HTTP/2 request is admitted, not refused.
    const third = session.request({ ":method": "POST", ":path": ENCRYPT, "content-type": "application/json", "content-length": "2" });
    third.end("{}");
    const thirdStatus = await new Promise<number>((r) => third.once("response", (h) => r(Number(h[":status"]))));
    assert.equal(thirdStatus, 401);
    session.destroy();
  });

  test("/ping is never refused", async () => {
    const { h2 } = agents(served.ca);
    const r = await send(`${proxy.url}/ping`, "GET", {}, undefined, h2);
    await h2.close();
    assert.equal(r.status, 200);
  });
});
