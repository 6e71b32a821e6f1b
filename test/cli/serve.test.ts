/**
 * `xksctl serve` as an admin runs it: the real binary in a child process. Start-up errors,
 * HSM-generated IV modes (nShield/CloudHSM zero IV, Luna appended IV) through the slowhsm shim,
 * throttling, HSM timeouts, an event loop that a slow HSM does not stall, and SIGTERM draining.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { before, describe, test } from "node:test";
import { keyPath, md } from "../helpers/proxy.js";
import { NSHIELD_SAMPLE_PROBLEMS, nshieldShapedSettings } from "../helpers/reference.js";
import { runBin, servedToken, slowHsmLibrary, startServe } from "../helpers/serve-process.js";
import { CREDS, PREFIX, writeSettings } from "../helpers/settings.js";
import { send, smithyPost } from "../helpers/sign.js";
import { until } from "../helpers/wait.js";

const served = servedToken();
const config = served.config;
let shim: string;
const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };

before(() => {
  shim = slowHsmLibrary();
});

const encBody = () => ({ requestMetadata: md(), plaintext: Buffer.from("hello nShield").toString("base64"), encryptionAlgorithm: "AES_GCM" });

function assertNoStack(text: string): void {
  assert.doesNotMatch(text, /^\s+at .+\(.*:\d+:\d+\)$/m, `no stack trace expected:\n${text}`);
}

describe("start-up errors are one clear message and exit 1", () => {
  test("a wrong PKCS#11 library path", async () => {
    const r = await runBin(["serve", "--config", config({}, "bad-module.toml", "/nonexistent/libcknfast.so")], served.token.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✖ PKCS#11 library not found: \/nonexistent\/libcknfast\.so/);
    assert.match(r.stderr, /→ Set \[pkcs11\] PKCS11_HSM_MODULE/);
    assertNoStack(r.stderr);
  });
  test("PKCS11_HSM_MODULE in the environment overrides the file", async () => {
    const r = await runBin(["serve", "--config", config()], { ...served.token.env, PKCS11_HSM_MODULE: "/nonexistent/override.so" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /library not found: \/nonexistent\/override\.so/);
  });
  test("a wrong user PIN", async () => {
    const r = await runBin(["serve", "--config", config({ pkcs11: { user_pin: "9999" } }, "bad-pin.toml")], served.token.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✖ C_Login refused the user PIN: CKR_PIN_INCORRECT/);
    assert.doesNotMatch(r.stderr + r.stdout, /9999/, "the PIN is never printed");
    assertNoStack(r.stderr);
  });
  test("a token label that does not exist", async () => {
    const r = await runBin(["serve", "--config", config({ pkcs11: { token_label: "nope" } }, "bad-token.toml")], served.token.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No token labelled "nope" \(tokens present: "xks-test"/);
  });
  test("an invalid settings file (nShield-shaped, empty credentials) lists every problem as key path, expected, got", async () => {
    const file = writeSettings(served.token.dir, nshieldShapedSettings(), "nshield-shaped.toml");
    const r = await runBin(["serve", "--config", file], { ...served.token.env }, 10_000);
    assert.equal(r.code, 1);
    for (const p of NSHIELD_SAMPLE_PROBLEMS) assert.ok(r.stderr.includes(p), `stderr names "${p}":\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /libcknfast|PKCS#11 library/, "settings are refused before the library is loaded");
    assertNoStack(r.stderr);
  });
  test("a port already in use", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    const r = await runBin(["serve", "--config", config(), "--port", String(port)], served.token.env);
    blocker.close();
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${port} for the XKS API: EADDRINUSE`));
  });
  test("the /ping port already in use: exit 1 with the one-line error (the main port, already bound, is let go)", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    const r = await runBin(["serve", "--config", config({ server: { port_http_ping: port } }, "ping-in-use.toml"), "--port", "0"], served.token.env);
    blocker.close();
    assert.equal(r.code, 1, `exit code (null: still running after 20 s, killed)\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${port} for /ping: EADDRINUSE`));
  });
  test("no settings file at all", async () => {
    const env = { ...served.token.env };
    delete env.XKS_PROXY_SETTINGS_TOML;
    const r = await runBin(["serve"], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No settings file/);
    assert.match(r.stderr, /→ Pass --config FILE, set XKS_PROXY_SETTINGS_TOML/);
  });
});

describe("HSM-generated IVs", () => {
  for (const [mode, caps] of [
    ["zero", { can_generate_iv: true, is_zero_iv_required: true }],
    ["append", { can_generate_iv: true, is_zero_iv_required: false }],
  ] as const) {
    test(`${mode} mode (${mode === "zero" ? "nShield, CloudHSM" : "Luna"}): round trip with the HSM's IV`, async () => {
      const s = await startServe(config({ hsm_capabilities: caps }, `iv-${mode}.toml`, shim), { ...served.token.env, SLOWHSM_IV_MODE: mode });
      try {
        const enc = await smithyPost(`${s.url}${keyPath(PREFIX, "foo", "encrypt")}`, encBody(), served.h2, main);
        assert.equal(enc.status, 200, enc.text);
        const iv = Buffer.from(enc.json.initializationVector as string, "base64");
        assert.equal(iv.length, 12);
        assert.ok(iv.some((b) => b !== 0), "the IV came from the HSM, not the zero buffer");
        const dec = await smithyPost(
          `${s.url}${keyPath(PREFIX, "foo", "decrypt")}`,
          { requestMetadata: md("Decrypt"), encryptionAlgorithm: "AES_GCM", ciphertext: enc.json.ciphertext, initializationVector: enc.json.initializationVector, authenticationTag: enc.json.authenticationTag, ciphertextMetadata: enc.json.ciphertextMetadata },
          served.h2,
          main,
        );
        assert.equal(dec.status, 200, dec.text);
        assert.equal(dec.json.plaintext, encBody().plaintext);
      } finally {
        assert.equal(await s.stop(), 0);
      }
    });
  }
  test("settings that do not match the HSM (SoftHSM-style IV on a zero-IV HSM) give 500, not a bad ciphertext", async () => {
    const s = await startServe(config({}, "iv-mismatch.toml", shim), { ...served.token.env, SLOWHSM_IV_MODE: "zero" });
    try {
      const enc = await smithyPost(`${s.url}${keyPath(PREFIX, "foo", "encrypt")}`, encBody(), served.h2, main);
      assert.equal(enc.status, 500, enc.text);
      assert.equal(enc.json.errorName, "InternalException");
      assert.match(s.stdout(), /CKR_MECHANISM_PARAM_INVALID/);
    } finally {
      await s.stop();
    }
  });
});

describe("reload", () => {
  test("SIGHUP applies a new credential and key set without a restart; a broken file keeps the running settings", async () => {
    const file = config({}, "reload.toml");
    const s = await startServe(file, served.token.env);
    try {
      const url = `${s.url}${keyPath(PREFIX, "foo", "encrypt")}`;
      assert.equal((await smithyPost(url, encBody(), served.h2, main)).status, 200);
      const fresh = { accessKeyId: "RELOADEDACCESSKEY2345", secret: "r".repeat(44) };
      config({ external_key_stores: [{ uri_path_prefix: PREFIX, sigv4_access_key_id: fresh.accessKeyId, sigv4_secret_access_key: fresh.secret, xks_key_id_set: ["foo"] }] }, "reload.toml");
      s.proc.kill("SIGHUP");
      await until(() => s.stdout().includes("settings reloaded"), "the reload");
      assert.match(s.stdout(), /"msg":"settings reloaded \(key sets, credentials, TLS files\)"/);
      assert.equal((await smithyPost(url, encBody(), served.h2, fresh)).status, 200, "the new credential works");
      assert.equal((await smithyPost(url, encBody(), served.h2, main)).status, 401, "the old one is gone");
      const fs = await import("node:fs");
      fs.writeFileSync(file, "[server]\nport = = 1\n");
      s.proc.kill("SIGHUP");
      await until(() => s.stdout().includes("settings reload failed"), "the refused reload");
      assert.match(s.stdout(), /"level":"ERROR","msg":"settings reload failed; keeping the running settings"/);
      assert.equal((await smithyPost(url, encBody(), served.h2, fresh)).status, 200, "still serving with the last good settings");
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});

describe("a slow HSM", () => {
  test("the event loop keeps answering /ping while HSM calls are in flight", async () => {
    const s = await startServe(config({}, "slow.toml", shim), { ...served.token.env, SLOWHSM_DELAY_MS: "300", SLOWHSM_DELAY_CALLS: "C_Encrypt" });
    try {
      const order: string[] = [];
      const encs = [1, 2, 3, 4].map(() => smithyPost(`${s.url}${keyPath(PREFIX, "foo", "encrypt")}`, encBody(), served.h2, main).then((r) => (order.push("encrypt"), r)));
      await new Promise((r) => setTimeout(r, 50));
      const ping = send(`${s.url}/ping`, "GET", {}, undefined, served.h2).then((r) => (order.push("ping"), r));
      const results = await Promise.all([...encs, ping]);
      assert.ok(results.every((r) => r.status === 200));
      assert.equal(order[0], "ping", `ping answered before the HSM calls finished: ${order.join(",")}`);
    } finally {
      await s.stop();
    }
  });

  test("more requests than sessions for longer than session_wait_milli → 429 ThrottlingException", async () => {
    const s = await startServe(config({ pkcs11: { session_pool_max_size: 1, session_wait_milli: 50 } }, "throttle.toml", shim), {
      ...served.token.env,
      SLOWHSM_DELAY_MS: "300",
      SLOWHSM_DELAY_CALLS: "C_Encrypt",
    });
    try {
      const rs = await Promise.all([1, 2, 3].map(() => smithyPost(`${s.url}${keyPath(PREFIX, "foo", "encrypt")}`, encBody(), served.h2, main)));
      const statuses = rs.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 429, 429]);
      const throttled = rs.find((r) => r.status === 429)!;
      assert.equal(throttled.json.errorName, "ThrottlingException");
    } finally {
      await s.stop();
    }
  });

  test("an HSM call slower than operation_timeout_milli → 503 DependencyTimeoutException", async () => {
    const s = await startServe(config({ pkcs11: { operation_timeout_milli: 100 } }, "timeout.toml", shim), { ...served.token.env, SLOWHSM_DELAY_MS: "400", SLOWHSM_DELAY_CALLS: "C_Encrypt" });
    try {
      const r = await smithyPost(`${s.url}${keyPath(PREFIX, "foo", "encrypt")}`, encBody(), served.h2, main);
      assert.equal(r.status, 503, r.text);
      assert.equal(r.json.errorName, "DependencyTimeoutException");
    } finally {
      await s.stop();
    }
  });

  test("SIGTERM drains in-flight requests, closes the HSM and exits 0", async () => {
    const s = await startServe(config({ tracing: { level: "DEBUG" } }, "drain.toml", shim), { ...served.token.env, SLOWHSM_DELAY_MS: "500", SLOWHSM_DELAY_CALLS: "C_Encrypt" });
    const inFlight = smithyPost(`${s.url}${keyPath(PREFIX, "foo", "encrypt")}`, encBody(), served.h2, main);
    // Signal only once the request has reached the proxy (a request still on its way when the
    // proxy stops is refused, as it should be).
    await until(() => s.stdout().includes('"msg":"request received"'), "the request to reach the proxy");
    const exit = s.stop("SIGTERM");
    const r = await inFlight;
    assert.equal(r.status, 200, r.text);
    assert.equal(await exit, 0);
    assert.match(s.stdout(), /"msg":"shutting down: draining in-flight requests","signal":"SIGTERM"/);
    assert.match(s.stdout(), /"msg":"stopped"/);
  });
});
