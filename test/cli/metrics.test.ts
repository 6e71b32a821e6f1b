/**
 * Prometheus metrics through the real binary: off by default; on, on a loopback listener of their
 * own; with two workers the primary serves the sum; the values move with the traffic; the
 * exposition passes `promtool check metrics` (Debian's prometheus package); a main port in use
 * still ends the process with exit 1 when the metrics listener was already open.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { request } from "undici";
import { keyPath, md } from "../helpers/proxy.js";
import { logLines, runBin, servedToken, startServe, type ServeProcess } from "../helpers/serve-process.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { smithyPost } from "../helpers/sign.js";
import { until } from "../helpers/wait.js";

const served = servedToken();
const config = served.config;
const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };

const encrypt = (s: ServeProcess, keyId = "foo") =>
  smithyPost(`${s.url}${keyPath(PREFIX, keyId, "encrypt")}`, { requestMetadata: md(), plaintext: Buffer.from("metrics").toString("base64"), encryptionAlgorithm: "AES_GCM" }, served.h2, main);

/** The value of one sample line, e.g. value(text, 'xksctl_requests_total{operation="Encrypt",…}'); summed over matching lines. */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    found = true;
  }
  assert.ok(found, `no sample ${name} ${JSON.stringify(labels)} in:\n${text}`);
  return sum;
}

async function scrape(address: string): Promise<string> {
  const r = await request(`http://${address}/metrics`);
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
  return r.body.text();
}

function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("two workers, metrics on", () => {
  let s: ServeProcess;
  let file: string;
  let address: string;
  before(async () => {
    file = config({ server: { workers: 2 }, metrics: { is_enabled: true, port: 0 } }, "metrics.toml");
    s = await startServe(file, served.token.env);
    address = String(await until(() => logLines(s).find((l) => l.msg === "metrics listening")?.address, "the metrics listener"));
  });
  after(async () => {
    if (s) await s.stop().catch(() => undefined);
  });

  test("listens on loopback only", () => {
    assert.match(address, /^127\.0\.0\.1:\d+$/);
  });

  test("the values move with the traffic, summed over both workers, and pass promtool", async () => {
    const ok = await Promise.all(Array.from({ length: 12 }, () => encrypt(s)));
    assert.ok(ok.every((r) => r.status === 200));
    const missing = await Promise.all([encrypt(s, "not-in-hsm"), encrypt(s, "not-in-hsm")]);
    assert.deepEqual(missing.map((r) => r.status), [404, 404]);
    const text = await scrape(address);
    assert.equal(value(text, "xksctl_requests_total", { operation: "Encrypt", status: "200" }), 12);
    assert.equal(value(text, "xksctl_requests_total", { operation: "Encrypt", status: "404", error_name: "KeyNotFoundException" }), 2);
    assert.equal(value(text, "xksctl_request_duration_seconds_count", { operation: "Encrypt" }), 14);
    assert.ok(value(text, "xksctl_request_duration_seconds_bucket", { operation: "Encrypt", le: "0.25" }) >= 12);
    assert.ok(value(text, "xksctl_hsm_operation_duration_seconds_count", { operation: "encrypt", outcome: "ok" }) >= 12);
    assert.equal(value(text, "xksctl_hsm_sessions", { state: "open" }), 8, "4 + 4 pooled sessions");
    assert.equal(value(text, "xksctl_hsm_health", { state: "ACTIVE" }), 2, "both workers ACTIVE");
    const days = (value(text, "xksctl_tls_certificate_expiry_timestamp_seconds") - Date.now() / 1000) / 86400;
    assert.ok(days > 0 && days < 3660, `certificate days ${days}`);
    const check = promtool(text);
    assert.equal(check.status, 0, check.out);
  });

  test("reloads are counted by outcome", async () => {
    s.proc.kill("SIGHUP");
    await until(() => logLines(s).filter((l) => /settings reloaded/.test(String(l.msg))).length >= 2, "both workers reloaded");
    const good = readFileSync(file, "utf8");
    writeFileSync(file, good.replace(/is_sigv4_auth_enabled = true/, "is_sigv4_auth_enabled = false"));
    s.proc.kill("SIGHUP");
    await until(() => logLines(s).filter((l) => /settings reload refused;/.test(String(l.msg))).length >= 2, "both workers refused");
    writeFileSync(file, good);
    const text = await scrape(address);
    assert.equal(value(text, "xksctl_settings_reloads_total", { outcome: "applied" }), 2);
    assert.equal(value(text, "xksctl_settings_reloads_total", { outcome: "refused" }), 2);
  });
});

test("metrics are off by default: no listener", async () => {
  const s = await startServe(config({}, "no-metrics.toml"), served.token.env);
  try {
    assert.equal((await encrypt(s)).status, 200);
    assert.equal(logLines(s).some((l) => l.msg === "metrics listening"), false);
  } finally {
    await s.stop();
  }
});

test("one process, metrics on: the process serves its own", async () => {
  const s = await startServe(config({ metrics: { is_enabled: true, port: 0 } }, "metrics-one.toml"), served.token.env);
  try {
    const address = String(await until(() => logLines(s).find((l) => l.msg === "metrics listening")?.address, "the metrics listener"));
    assert.equal((await encrypt(s)).status, 200);
    const text = await scrape(address);
    assert.equal(value(text, "xksctl_requests_total", { operation: "Encrypt", status: "200" }), 1);
    assert.equal(promtool(text).status, 0);
  } finally {
    await s.stop();
  }
});

test("one process, metrics on: a 429 of admission control is counted as an answer, and by the setting that refused it", async () => {
  const s = await startServe(config({ server: { max_in_flight_requests: 1 }, metrics: { is_enabled: true, port: 0 } }, "metrics-429.toml"), served.token.env);
  const session = http2.connect(s.url, { ca: served.ca });
  try {
    const address = String(await until(() => logLines(s).find((l) => l.msg === "metrics listening")?.address, "the metrics listener"));
    const path = keyPath(PREFIX, "foo", "encrypt");
    // The first request is admitted and waits for the rest of its body: the one request in flight.
    const first = session.request({ ":method": "POST", ":path": path, "content-type": "application/json" });
    first.write("{");
    const status = async (stream: http2.ClientHttp2Stream) => {
      const st = await new Promise<number>((r) => stream.once("response", (h) => r(Number(h[":status"]))));
      stream.resume();
      await new Promise((r) => stream.once("end", r));
      return st;
    };
    // Streams of one connection reach the proxy in order: the first is in flight when this one comes.
    const second = session.request({ ":method": "POST", ":path": path, "content-type": "application/json" });
    second.end("{}");
    assert.equal(await status(second), 429, "refused while the first is in flight");
    first.end("}");
    assert.equal(await status(first), 401, "the admitted one is then checked (unsigned: 401)");
    const text = await scrape(address);
    assert.equal(value(text, "xksctl_requests_total", { operation: "Encrypt", status: "429", error_name: "ThrottlingException" }), 1);
    assert.equal(value(text, "xksctl_requests_refused_total", { limit: "max_in_flight_requests" }), 1);
    assert.equal(value(text, "xksctl_request_duration_seconds_count", { operation: "Encrypt" }), 2, "the 429 and the 401");
    const check = promtool(text);
    assert.equal(check.status, 0, check.out);
  } finally {
    session.destroy();
    await s.stop();
  }
});

test("one process, metrics on, the main port in use: exit 1 with the one-line error (the metrics listener is closed)", async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = await runBin(["serve", "--config", config({ metrics: { is_enabled: true, port: 0 } }, "metrics-busy.toml"), "--port", String(port)], served.token.env, 10_000);
    assert.equal(r.code, 1, `the process exits (null: still running when killed after 10 s)\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${port} for the XKS API: EADDRINUSE`));
    assert.match(r.stdout, /"msg":"metrics listening"/, "the metrics listener was open before the main port failed");
  } finally {
    blocker.close();
  }
});
