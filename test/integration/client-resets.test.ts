/**
 * An HTTP/2 client that resets its streams (RST_STREAM CANCEL) at every point of a request: after
 * the headers, halfway through the body, after the body, while the HSM works on it. KMS cancels a
 * request it has given up on (250 ms); an attacker resets as fast as it can ("rapid reset"). Either
 * way nothing may be left behind: no request counted in flight, no HSM session held, and the
 * proxy answers the next request. Every PKCS#11 call is delayed (the slowhsm shim, 2 ms) so that
 * resets land while calls are inside the HSM. The shim reads its environment once per process, so
 * this file sets it before the first load of the library. Before the fix in server.ts's 'stream'
 * listener this file also failed, on the uncaught exception a stream destroyed before that event
 * caused (in each of 8 runs; it depends on timing here, test/cli/serve-resets.test.ts makes it
 * happen every time).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http2 from "node:http2";
import { after, before, test } from "node:test";
import type { Agent } from "undici";
import { keyPath, md, startTestProxy, type TestProxy } from "../helpers/proxy.js";
import { slowHsmLibrary } from "../helpers/serve-process.js";
import { waitForStats, type SlowHsmStats } from "../fixtures/slowhsm/control.mjs";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { agents, smithyPost, smithySign } from "../helpers/sign.js";
import { addKeys, createTestToken, removeTestToken, type TestToken } from "../helpers/softhsm.js";
import { tempDir } from "../helpers/tmp.js";
import { until } from "../helpers/wait.js";

const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };
const SESSIONS = 4;
let token: TestToken;
let proxy: TestProxy;
let h2: Agent;
/** The shim's counters: how many sessions the library really opened and closed. */
let statsFile: string;

before(async () => {
  statsFile = `${tempDir("xks-resets-stats")}/stats.json`;
  Object.assign(process.env, { SLOWHSM_DELAY_MS: "2", SLOWHSM_DELAY_CALLS: "*", SLOWHSM_STATS: statsFile });
  token = createTestToken("xks-resets");
  addKeys(token, [{ label: "foo" }]);
  proxy = await startTestProxy({ token, module: slowHsmLibrary(), patch: { pkcs11: { session_pool_max_size: SESSIONS, session_wait_milli: 2000 } } });
  ({ h2 } = agents(fs.readFileSync(proxy.pki.caCert)));
});

after(async () => {
  await h2.close();
  await proxy.close();
  removeTestToken(token);
});

const url = () => `${proxy.url}${keyPath(PREFIX, "foo", "encrypt")}`;
const body = (n: number) => JSON.stringify({ requestMetadata: md("Encrypt", { kmsRequestId: `reset-${n}` }), plaintext: Buffer.from(`reset ${n}`).toString("base64"), encryptionAlgorithm: "AES_GCM" });

/** The shim's stats once nothing is inside it and two reads 150 ms apart agree (it writes every 50 ms). */
function settledStats(): Promise<SlowHsmStats> {
  let seq: number | undefined;
  return waitForStats(statsFile, (s) => {
    const settled = s.seq === seq && s.in_flight === 0;
    seq = s.seq;
    return settled;
  }, { intervalMs: 150 });
}

/** Resets sent while PKCS#11 calls were inside the library. */
let resetsDuringHsmCalls = 0;

/** Where in the request the client resets the stream. */
const POINTS = ["after headers", "half the body", "after the body", "after 1 ms", "after 4 ms", "after 10 ms"] as const;

/**
 * Sends one signed Encrypt on `session` and resets it at `point`; resolves when the stream has
 * closed, with whether an answer came first (a reset late enough may lose the race to the answer).
 */
async function resetOne(session: http2.ClientHttp2Session, n: number, point: (typeof POINTS)[number]): Promise<{ answered?: number }> {
  const b = body(n);
  const headers = await smithySign(url(), b, main);
  const req = session.request({ ":method": "POST", ":path": new URL(url()).pathname, ...headers });
  let answered: number | undefined;
  req.on("response", (h) => (answered = Number(h[":status"])));
  req.on("error", () => undefined);
  req.resume();
  const cancel = () => {
    if (proxy.hsm.stats().inFlight > 0) resetsDuringHsmCalls++;
    req.close(http2.constants.NGHTTP2_CANCEL);
  };
  if (point === "after headers") cancel();
  else if (point === "half the body") {
    req.write(b.slice(0, b.length >> 1));
    cancel();
  } else {
    req.end(b);
    if (point === "after the body") cancel();
    else setTimeout(cancel, Number(point.split(" ")[1]));
  }
  await new Promise((r) => (req.closed ? r(undefined) : req.once("close", r)));
  return { answered };
}

test("streams reset at every point of a request leave nothing in flight and no HSM session held; the next requests are answered", { timeout: 60_000 }, async () => {
  const session = http2.connect(proxy.url, { ca: fs.readFileSync(proxy.pki.caCert) });
  session.on("error", () => undefined);
  const answered = new Map<number, number>();
  // 600 requests, 20 at a time on one connection, each point in turn.
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      for (let n = next++; n < 600; n = next++) {
        const r = await resetOne(session, n, POINTS[n % POINTS.length]!);
        if (r.answered !== undefined) answered.set(r.answered, (answered.get(r.answered) ?? 0) + 1);
      }
    }),
  );
  assert.ok(resetsDuringHsmCalls > 0, "some resets came while PKCS#11 calls were inside the library");
  assert.ok(!session.destroyed, "the proxy kept the connection (a reset stream is not a connection error)");
  await until(() => proxy.server.stats().inFlight === 0, "every reset request to leave the in-flight count");
  await until(() => proxy.hsm.stats().inUse === 0, "every reset request's HSM session to be given back");
  for (const status of answered.keys()) assert.ok(status === 200, `answers that beat the reset: ${JSON.stringify([...answered])}`);
  // More requests at once than there are sessions: each is answered, so no session was lost.
  const rs = await Promise.all(Array.from({ length: SESSIONS * 4 }, (_, i) => smithyPost(url(), JSON.parse(body(1000 + i)), h2, main)));
  assert.deepEqual(rs.map((r) => r.status), rs.map(() => 200), rs.map((r) => r.text).join("\n"));
  // What the library saw: no session was closed (dropped and replaced), and it holds the pool's
  // sessions plus the two outside it (the login anchor and the health check's own).
  const { calls } = await settledStats();
  assert.equal(calls.C_CloseSession ?? 0, 0, `sessions closed: ${JSON.stringify(calls)}`);
  assert.equal(calls.C_OpenSession, SESSIONS + 2, `sessions opened: ${JSON.stringify(calls)}`);
  // The same connection still serves.
  const again = await new Promise<number>((resolve, reject) => {
    const req = session.request({ ":path": "/ping" });
    req.on("response", (h) => resolve(Number(h[":status"])));
    req.on("error", reject);
    req.resume();
  });
  assert.equal(again, 200);
  session.destroy();
  assert.equal(proxy.logs.filter((l) => l.level === "ERROR").length, 0, JSON.stringify(proxy.logs.filter((l) => l.level === "ERROR").slice(0, 3)));
});
