/**
 * HSM faults under real traffic, through the slowhsm shim's control file (a network HSM's faults:
 * a refused call, a stale session, a lost login, a device error, a removed token, a hung call).
 * For each: the request that meets it gets the spec's error or succeeds after the one retry, the
 * requests after it succeed, health moves and recovers, the process never exits. The shim reads its
 * environment once per process, so this file sets SLOWHSM_CONTROL / SLOWHSM_STATS before the first
 * load of the library and runs one in-process proxy (nShield-like: the HSM makes the GCM IV).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import type { Agent } from "undici";
import { clearControl, readStats, waitForStats, writeControl } from "../fixtures/slowhsm/control.mjs";
import { keyPath, md, startTestProxy, type TestProxy } from "../helpers/proxy.js";
import { slowHsmLibrary } from "../helpers/serve-process.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { agents, send, smithyPost, type WireResponse } from "../helpers/sign.js";
import { addKeys, createTestToken, removeTestToken, type TestToken } from "../helpers/softhsm.js";
import { until } from "../helpers/wait.js";
import { aesKeyTemplate } from "../../src/hsm/pkcs11/aes-key-template.js";
import { CKA_CLASS, CKA_LABEL, CKM_AES_KEY_GEN, CKO_SECRET_KEY, openLibrary, stringAttr, ulongAttr } from "../../src/hsm/pkcs11/native.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir("xksctl-faults-");
const CONTROL = path.join(dir, "control");
const STATS = path.join(dir, "stats.json");
const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };
let token: TestToken;
let proxy: TestProxy;
let h2: Agent;

before(async () => {
  Object.assign(process.env, { SLOWHSM_CONTROL: CONTROL, SLOWHSM_STATS: STATS, SLOWHSM_IV_MODE: "zero", SLOWHSM_DELAY_MS: "1", SLOWHSM_DELAY_CALLS: "*" });
  clearControl(CONTROL);
  token = createTestToken("xks-faults");
  addKeys(token, [{ label: "foo" }]);
  proxy = await startTestProxy({
    token,
    module: slowHsmLibrary(),
    patch: {
      pkcs11: { session_pool_max_size: 4, session_wait_milli: 2000, operation_timeout_milli: 1500, health_check_interval_milli: 50 },
      hsm_capabilities: { can_generate_iv: true, is_zero_iv_required: true },
    },
  });
  ({ h2 } = agents(fs.readFileSync(proxy.pki.caCert)));
});

after(async () => {
  clearControl(CONTROL);
  await h2.close();
  await proxy.close();
  removeTestToken(token);
  fs.rmSync(dir, { recursive: true, force: true });
});

const encrypt = (): Promise<WireResponse> =>
  smithyPost(`${proxy.url}${keyPath(PREFIX, "foo", "encrypt")}`, { requestMetadata: md(), plaintext: Buffer.from("fault test").toString("base64"), encryptionAlgorithm: "AES_GCM" }, h2, main);
const ping = () => send(`${proxy.url}/ping`, "GET", {}, undefined, h2);
const health = () => proxy.server.health.state();

/** `n` Encrypts from `width` concurrent clients; their statuses and error names in order of completion. */
async function traffic(n: number, width = 4): Promise<{ statuses: number[]; errors: string[] }> {
  const statuses: number[] = [];
  const errors: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next++ < n) {
        const r = await encrypt();
        statuses.push(r.status);
        if (r.status !== 200) errors.push(`${r.status} ${String(r.json?.errorName)}`);
      }
    }),
  );
  return { statuses, errors };
}

/** Faults the shim has answered so far, all calls together (any call after 50 ms makes it write its stats). */
async function faultsSoFar(): Promise<number> {
  await new Promise((r) => setTimeout(r, 60));
  await traffic(1);
  return Object.values(readStats(STATS)?.faults ?? {}).reduce<number>((a, b) => a + (b ?? 0), 0);
}

/**
 * `traffic(16)` with `directive` (a fault on the next C_Encrypt) in force. The proxy's health check
 * encrypts too (every 50 ms), so the fault can meet the check instead of a request: then no request
 * fails, and the fault is armed again, at most 5 times in all, until a request meets it. A request
 * that met it and still succeeded would fail every attempt, so the caller's assertion still fails.
 */
async function trafficMeetingFault(directive: string): Promise<{ statuses: number[]; errors: string[] }> {
  for (let attempt = 1; ; attempt++) {
    const before = await faultsSoFar();
    writeControl(CONTROL, [directive]);
    const during = await traffic(16);
    clearControl(CONTROL);
    if (during.errors.length > 0 || attempt === 5) return during;
    assert.ok((await faultsSoFar()) > before, "the fault was injected (and met the health check)");
    await until(() => health() === "ACTIVE", "health ACTIVE before the fault is armed again");
  }
}

/** After a fault is cleared: every request succeeds again, health is ACTIVE, the proxy answers /ping. */
async function assertRecovered(): Promise<void> {
  await until(() => health() === "ACTIVE", "health ACTIVE again");
  const after = await traffic(24);
  assert.deepEqual(after.errors, [], "every request after the fault succeeds");
  assert.equal((await ping()).status, 200);
}

test("baseline: signed Encrypts succeed, health is ACTIVE, and calls really overlap in the HSM", async () => {
  writeControl(CONTROL, ["delay * 20"]);
  try {
    const r = await traffic(32, 8);
    assert.deepEqual(r.errors, []);
    const s = await waitForStats(STATS, (x) => x.max_in_flight >= 4);
    assert.ok(s.max_in_flight >= 4, `max_in_flight ${s.max_in_flight} reaches the pool size`);
  } finally {
    clearControl(CONTROL);
  }
  await until(() => health() === "ACTIVE", "health ACTIVE");
});

test("a C_Encrypt refused with CKR_ARGUMENTS_BAD (operation left active) fails that request only", async () => {
  const during = await trafficMeetingFault("fail C_Encrypt CKR_ARGUMENTS_BAD nth=1");
  assert.deepEqual(during.errors, ["500 InternalException"], "only the request that met it fails");
  await assertRecovered();
});

test("a stale session (CKR_SESSION_HANDLE_INVALID) is replaced and the request retried: no failure", async () => {
  const before = await faultsSoFar();
  writeControl(CONTROL, ["fail C_Encrypt CKR_SESSION_HANDLE_INVALID nth=2"]);
  const during = await traffic(16);
  clearControl(CONTROL);
  assert.deepEqual(during.errors, []);
  await assertRecovered();
  assert.ok((await faultsSoFar()) > before, "the fault was injected");
});

test("sessions reaped while the pool is idle: a lone request is retried on a fresh session, not on another reaped one", async () => {
  await traffic(8); // the pool's 4 sessions are open and idle
  writeControl(CONTROL, ["invalidate_sessions id=reap-idle"]);
  try {
    // One client: nothing else takes the other idle (reaped) sessions before the retry does.
    const first = await traffic(1, 1);
    assert.deepEqual(first.errors, [], "the request succeeds after one retry");
    const rest = await traffic(6, 1);
    assert.deepEqual(rest.errors, [], "and so do the next ones, one at a time");
    assert.match(proxy.rawLog(), /CKR_SESSION_HANDLE_INVALID: the session was lost .*closed 3 idle session\(s\) too/, "the admin sees why");
  } finally {
    clearControl(CONTROL);
  }
  await assertRecovered();
});

test("every session invalidated at once (appliance reaped them): requests succeed after one retry each", async () => {
  await traffic(8);
  const before = await faultsSoFar();
  writeControl(CONTROL, ["invalidate_sessions id=reap-1"]);
  const during = await traffic(24);
  clearControl(CONTROL);
  assert.deepEqual(during.errors, []);
  await assertRecovered();
  assert.ok((await faultsSoFar()) > before, "the sessions were invalidated (their next calls answered CKR_SESSION_HANDLE_INVALID)");
});

test("a lost login (hardserver restart): the proxy logs in again and the requests succeed", async () => {
  writeControl(CONTROL, ["lose_login id=login-1"]);
  const during = await traffic(24);
  assert.deepEqual(during.errors, []);
  assert.match(proxy.rawLog(), /no longer logged in/);
  clearControl(CONTROL);
  await assertRecovered();
});

test("a device error: that request fails, the library is re-initialised, health recovers, traffic resumes", async () => {
  const during = await trafficMeetingFault("fail C_Encrypt CKR_DEVICE_ERROR nth=1");
  assert.ok(during.errors.length >= 1, "the request that met the device error fails");
  for (const e of during.errors) assert.match(e, /^500 InternalException$/);
  await until(() => /PKCS#11 library re-initialised/.test(proxy.rawLog()), "re-initialised");
  await assertRecovered();
});

test("the token removed: requests fail with 500 and health is UNAVAILABLE; back: ACTIVE and 200 by itself", async () => {
  writeControl(CONTROL, ["remove_token"]);
  await until(() => health() === "UNAVAILABLE", "health UNAVAILABLE");
  const during = await traffic(8);
  assert.ok(during.statuses.every((s) => s === 500), `statuses ${during.statuses.join(",")}`);
  assert.equal((await ping()).status, 200, "/ping answers while the HSM is gone");
  clearControl(CONTROL);
  await assertRecovered();
});

test("every PKCS#11 call hung: /ping still answers, the Encrypts get 503 at operation_timeout_milli, then recover", async () => {
  writeControl(CONTROL, ["hang *"]);
  const load = traffic(4, 4);
  await waitForStats(STATS, (s) => s.hanging >= 4);
  const pings = await Promise.all([ping(), ping(), ping()]);
  assert.deepEqual(pings.map((p) => p.status), [200, 200, 200], "/ping answers while every HSM call hangs");
  const r = await load;
  assert.deepEqual(r.statuses, [503, 503, 503, 503]);
  assert.ok(r.errors.every((e) => e === "503 DependencyTimeoutException"));
  clearControl(CONTROL);
  await assertRecovered();
});

test("a key deleted and made again under the same label is used through its new handle, never the old one", async () => {
  const before = await encrypt();
  assert.equal(before.status, 200);
  const lib = openLibrary(slowHsmLibrary(), { threads: 2 });
  await lib.initialize();
  const slot = (await lib.slots(true)).find((s) => s.token?.label === token.label)!.slot;
  const s = await lib.openSession(slot);
  await lib.login(s, Buffer.from(token.pin));
  for (const h of await lib.findObjects(s, [ulongAttr(CKA_CLASS, CKO_SECRET_KEY), stringAttr(CKA_LABEL, "foo")], 2)) await lib.destroyObject(s, h);
  await lib.generateKey(s, CKM_AES_KEY_GEN, aesKeyTemplate("foo", true));
  await lib.closeSession(s);
  const after = await encrypt();
  assert.equal(after.status, 200, after.text);
  const old = await smithyPost(
    `${proxy.url}${keyPath(PREFIX, "foo", "decrypt")}`,
    { requestMetadata: md("Decrypt"), ciphertext: before.json.ciphertext, initializationVector: before.json.initializationVector, authenticationTag: before.json.authenticationTag, encryptionAlgorithm: "AES_GCM" },
    h2,
    main,
  );
  assert.equal(old.status, 400, "a ciphertext of the deleted key no longer decrypts: the new key is in use");
  assert.equal(old.json.errorName, "InvalidCiphertextException");
});

test("the proxy is still the same process and answers after all faults", async () => {
  assert.equal((await ping()).status, 200);
  const r = await traffic(8);
  assert.deepEqual(r.errors, []);
});
