/**
 * `xksctl serve` as a process (issue 8): a log file that cannot be written never stops it, and a
 * SIGHUP that would weaken security or needs a restart is refused, naming the key.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { describe, test } from "node:test";
import { keyPath, md } from "../helpers/proxy.js";
import { servedToken, startServe } from "../helpers/serve-process.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { send, smithyPost } from "../helpers/sign.js";
import { until } from "../helpers/wait.js";

const served = servedToken();
const config = served.config;
const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };
const encBody = () => ({ requestMetadata: md(), plaintext: "AAAA", encryptionAlgorithm: "AES_GCM" });

describe("a log file that cannot be written", () => {
  test("a full disk (/dev/full) is reported once on stderr; the proxy keeps serving", { skip: !fs.existsSync("/dev/full") && "no /dev/full" }, async () => {
    const file = config({ tracing: { is_stdout_writer_enabled: false, is_file_writer_enabled: true, directory: "/dev", file_prefix: "full", rotation_kind: "NEVER" } }, "log-full.toml");
    // Listening is announced on stdout only when the stdout writer is on: wait for /ping instead.
    const s = await startServe(file, served.token.env, { ready: "ping" });
    try {
      for (let i = 0; i < 20; i++) assert.equal((await smithyPost(`${s.url}${keyPath(PREFIX, "foo", "encrypt")}`, encBody(), served.h2, main)).status, 200);
      await until(() => /ENOSPC/.test(s.stderr()), "ENOSPC reported", 5_000);
      assert.equal(s.stderr().match(/cannot write the log file \/dev\/full \(ENOSPC\); still serving/g)?.length, 1, s.stderr());
      assert.equal(s.proc.exitCode, null, "still running");
      assert.equal((await send(`${s.url}/ping`, "GET", {}, undefined, served.h2)).status, 200);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});

describe("SIGHUP", () => {
  test("turning SigV4 off (and changing the PIN) is refused, each key logged at ERROR; the old settings keep serving", async () => {
    const file = config({}, "hup-refuse.toml");
    const s = await startServe(file, served.token.env);
    try {
      const url = `${s.url}${keyPath(PREFIX, "foo", "encrypt")}`;
      assert.equal((await send(url, "POST", { "content-type": "application/json" }, JSON.stringify(encBody()), served.h2)).status, 401);
      config({ security: { is_sigv4_auth_enabled: false }, pkcs11: { user_pin: "9999" } }, "hup-refuse.toml");
      s.proc.kill("SIGHUP");
      await until(() => s.stdout().includes("keeping the running settings"), "the reload refused", 5_000);
      assert.match(s.stdout(), /"level":"ERROR","msg":"settings reload refused","key":"\[security\] is_sigv4_auth_enabled","reason":"[^"]*restart/);
      assert.match(s.stdout(), /"level":"ERROR","msg":"settings reload refused; keeping the running settings"/);
      assert.match(s.stdout(), /"key":"\[pkcs11\] user_pin"/);
      assert.doesNotMatch(s.stdout(), /settings reloaded|9999/);
      assert.equal((await send(url, "POST", { "content-type": "application/json" }, JSON.stringify(encBody()), served.h2)).status, 401, "unsigned requests are still refused");
      assert.equal((await smithyPost(url, encBody(), served.h2, main)).status, 200);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  test("a new limit and key set are applied and the changed keys logged", async () => {
    const file = config({}, "hup-apply.toml");
    const s = await startServe(file, served.token.env);
    try {
      config({ server: { max_in_flight_requests: 64 }, external_key_stores: [{ uri_path_prefix: PREFIX, sigv4_access_key_id: CREDS.main.id, sigv4_secret_access_key: CREDS.main.secret, xks_key_id_set: ["foo", "enc-only"] }] }, "hup-apply.toml");
      s.proc.kill("SIGHUP");
      await until(() => s.stdout().includes("settings reloaded"), "the settings reloaded", 5_000);
      assert.match(s.stdout(), /"msg":"settings reloaded \(key sets, credentials, TLS files\)","changed":\[[^\]]*"server\.max_in_flight_requests"[^\]]*"external_key_stores"/);
      assert.equal((await smithyPost(`${s.url}${keyPath(PREFIX, "enc-only", "encrypt")}`, encBody(), served.h2, main)).status, 200);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});
