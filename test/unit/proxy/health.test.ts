/**
 * The deep health check runs in the background: KMS's poll is answered from the last result
 * (never older than 60 s), a failure is UNAVAILABLE, and a recovered HSM is ACTIVE again by itself.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { HEALTH_TTL_MS, HealthMonitor, type HealthState } from "../../../src/proxy/health.js";
import type { Hsm } from "../../../src/hsm/types.js";
import { until } from "../../helpers/wait.js";

function fakeHsm(result: () => Promise<void>): Hsm {
  return {
    selfTest: result,
    token: () => ({ label: "t", manufacturerId: "Entrust", model: "nC3025E", serialNumber: "1234-5678", hardwareVersion: "1.0", firmwareVersion: "13.3" }),
  } as unknown as Hsm;
}


test("the first poll waits for a check; a result older than the TTL is refreshed in the background", async () => {
  let now = 1_000_000;
  let calls = 0;
  const h = new HealthMonitor(fakeHsm(async () => void calls++), 2, () => now, undefined, { refreshMs: 1e9 });
  const first = await h.status();
  assert.equal(first.ekmFleetDetails[0]!.healthStatus, "ACTIVE");
  assert.equal(first.xksProxyFleetSize, 2);
  assert.equal(first.ekmVendor, "Entrust (serial number: 1234-5678)");
  now += HEALTH_TTL_MS - 1;
  await h.status();
  assert.equal(calls, 1);
  assert.ok(HEALTH_TTL_MS <= 60_000);
  now += 1;
  await h.status();
  await until(() => calls === 2, "a second check ran", 5_000);
  h.stop();
});

test("a poll is answered from the cache while a slow check runs", async () => {
  let release!: () => void;
  let calls = 0;
  let now = 0;
  const h = new HealthMonitor(
    fakeHsm(() => (++calls === 1 ? Promise.resolve() : new Promise<void>((r) => (release = r)))),
    1,
    () => now,
    undefined,
    { refreshMs: 1e9 },
  );
  await h.status();
  now += HEALTH_TTL_MS;
  const answered = await h.status(); // triggers the second (hanging) check, answers at once
  assert.equal(answered.ekmFleetDetails[0]!.healthStatus, "ACTIVE");
  assert.equal(calls, 2);
  release();
  h.stop();
});

test("concurrent first polls share one check", async () => {
  let calls = 0;
  const h = new HealthMonitor(fakeHsm(() => new Promise((r) => setTimeout(() => r(void calls++), 20))), 1, () => 0, undefined, { refreshMs: 1e9 });
  await Promise.all([h.status(), h.status(), h.status()]);
  assert.equal(calls, 1);
  h.stop();
});

test("a failing HSM is UNAVAILABLE, and ACTIVE again by itself once it recovers; each change is reported once", async () => {
  let failing = true;
  const changes: HealthState[] = [];
  const h = new HealthMonitor(
    fakeHsm(async () => {
      if (failing) throw new Error("CKR_DEVICE_ERROR");
    }),
    1,
    Date.now,
    (s) => changes.push(s),
    { retryMs: 5, refreshMs: 5 },
  );
  assert.equal((await h.status()).ekmFleetDetails[0]!.healthStatus, "UNAVAILABLE");
  await until(() => h.checks >= 3, "retried in the background", 5_000);
  failing = false;
  await until(() => h.state() === "ACTIVE", "back to ACTIVE without a poll", 5_000);
  assert.equal((await h.status()).ekmFleetDetails[0]!.healthStatus, "ACTIVE");
  h.stop();
  assert.deepEqual(changes, ["UNAVAILABLE", "ACTIVE"]);
});

test("a check that does not answer in time is UNAVAILABLE", async () => {
  const h = new HealthMonitor(fakeHsm(() => new Promise(() => undefined)), 1, Date.now, undefined, { timeoutMs: 20, refreshMs: 1e9, retryMs: 1e9 });
  assert.equal((await h.status()).ekmFleetDetails[0]!.healthStatus, "UNAVAILABLE");
  h.stop();
});
