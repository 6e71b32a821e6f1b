/**
 * `xksctl serve` as a process (issue 8): a log file that cannot be written never stops it, and a
 * SIGHUP that would weaken security or needs a restart is refused, naming the key.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { Agent } from "undici";
import { createStandardToken, keyPath, md } from "../helpers/proxy.js";
import { startServe } from "../helpers/serve-process.js";
import { CREDS, PREFIX, testSettings, writeSettings } from "../helpers/settings.js";
import { agents, send, smithyPost } from "../helpers/sign.js";
import { SOFTHSM_LIB, type TestToken } from "../helpers/softhsm.js";
import { createTestPki, type TestPki } from "../helpers/tls.js";

let token: TestToken;
let pki: TestPki;
let h2: Agent;
const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };
const encBody = () => ({ requestMetadata: md(), plaintext: "AAAA", encryptionAlgorithm: "AES_GCM" });

before(() => {
  token = createStandardToken();
  pki = createTestPki();
  ({ h2 } = agents(readFileSync(pki.caCert)));
});
after(() => h2.close());

function config(patch: Record<string, unknown>, name: string): string {
  const base = { server: { workers: 1 } };
  const s = testSettings({ module: SOFTHSM_LIB, tokenLabel: token.label, pin: token.pin, cert: pki.serverCert, key: pki.serverKey }, base);
  return writeSettings(token.dir, merge(s, patch), name);
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v && typeof v === "object" && !Array.isArray(v) && cur && typeof cur === "object" ? merge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

const waitFor = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe("a log file that cannot be written", () => {
  test("a full disk (/dev/full) is reported once on stderr; the proxy keeps serving", { skip: !fs.existsSync("/dev/full") && "no /dev/full" }, async () => {
    const file = config({ tracing: { is_stdout_writer_enabled: false, is_file_writer_enabled: true, directory: "/dev", file_prefix: "full", rotation_kind: "NEVER" } }, "log-full.toml");
    // Listening is announced on stdout only when the stdout writer is on: wait for /ping instead.
    const s = await startServeQuietly(file);
    try {
      for (let i = 0; i < 20; i++) assert.equal((await smithyPost(`${s.url}${keyPath(PREFIX, "foo", "encrypt")}`, encBody(), h2, main)).status, 200);
      await waitFor(() => /ENOSPC/.test(s.stderr()));
      assert.equal(s.stderr().match(/cannot write the log file \/dev\/full \(ENOSPC\); still serving/g)?.length, 1, s.stderr());
      assert.equal(s.proc.exitCode, null, "still running");
      assert.equal((await send(`${s.url}/ping`, "GET", {}, undefined, h2)).status, 200);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});

/** startServe waits for the "listening" line on stdout; with the stdout writer off, poll /ping. */
async function startServeQuietly(file: string) {
  const { spawn } = await import("node:child_process");
  const net = await import("node:net");
  const { BIN } = await import("../helpers/serve-process.js");
  const port = await new Promise<number>((r) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (srv.address() as import("node:net").AddressInfo).port;
      srv.close(() => r(p));
    });
  });
  const proc = spawn(process.execPath, [BIN, "serve", "--config", file, "--port", String(port)], { env: token.env, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  proc.stdout!.resume();
  const exited = new Promise<number | null>((r) => proc.on("exit", (c) => r(c)));
  const url = `https://localhost:${port}`;
  for (let i = 0; i < 150; i++) {
    try {
      if ((await send(`${url}/ping`, "GET", {}, undefined, h2)).status === 200) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { proc, url, stderr: () => err, stop: () => (proc.kill("SIGTERM"), exited) };
}

describe("SIGHUP", () => {
  test("turning SigV4 off (and changing the PIN) is refused, each key logged at ERROR; the old settings keep serving", async () => {
    const file = config({}, "hup-refuse.toml");
    const s = await startServe(file, token.env);
    try {
      const url = `${s.url}${keyPath(PREFIX, "foo", "encrypt")}`;
      assert.equal((await send(url, "POST", { "content-type": "application/json" }, JSON.stringify(encBody()), h2)).status, 401);
      config({ security: { is_sigv4_auth_enabled: false }, pkcs11: { user_pin: "9999" } }, "hup-refuse.toml");
      s.proc.kill("SIGHUP");
      await waitFor(() => s.stdout().includes("keeping the running settings"));
      assert.match(s.stdout(), /"level":"ERROR","msg":"settings reload refused","key":"\[security\] is_sigv4_auth_enabled","reason":"[^"]*restart/);
      assert.match(s.stdout(), /"level":"ERROR","msg":"settings reload refused; keeping the running settings"/);
      assert.match(s.stdout(), /"key":"\[pkcs11\] user_pin"/);
      assert.doesNotMatch(s.stdout(), /settings reloaded|9999/);
      assert.equal((await send(url, "POST", { "content-type": "application/json" }, JSON.stringify(encBody()), h2)).status, 401, "unsigned requests are still refused");
      assert.equal((await smithyPost(url, encBody(), h2, main)).status, 200);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  test("a new limit and key set are applied and the changed keys logged", async () => {
    const file = config({}, "hup-apply.toml");
    const s = await startServe(file, token.env);
    try {
      config({ server: { max_in_flight_requests: 64 }, external_key_stores: [{ uri_path_prefix: PREFIX, sigv4_access_key_id: CREDS.main.id, sigv4_secret_access_key: CREDS.main.secret, xks_key_id_set: ["foo", "enc-only"] }] }, "hup-apply.toml");
      s.proc.kill("SIGHUP");
      await waitFor(() => s.stdout().includes("settings reloaded"));
      assert.match(s.stdout(), /"msg":"settings reloaded \(key sets, credentials, TLS files\)","changed":\[[^\]]*"server\.max_in_flight_requests"[^\]]*"external_key_stores"/);
      assert.equal((await smithyPost(`${s.url}${keyPath(PREFIX, "enc-only", "encrypt")}`, encBody(), h2, main)).status, 200);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});
