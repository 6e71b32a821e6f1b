/** The deep health check's cache: at most 30 s old (the spec allows 60), one check in flight. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { HEALTH_TTL_MS, HealthMonitor } from "../../../src/proxy/health.js";
import type { Hsm } from "../../../src/hsm/types.js";

function fakeHsm(result: () => Promise<void>): Hsm {
  return {
    selfTest: result,
    token: () => ({ label: "t", manufacturerId: "Entrust", model: "nC3025E", serialNumber: "1234-5678", hardwareVersion: "1.0", firmwareVersion: "13.3" }),
  } as unknown as Hsm;
}

test("a cached result is reused for less than 60 s, then checked again", async () => {
  let now = 1_000_000;
  let calls = 0;
  const h = new HealthMonitor(fakeHsm(async () => void calls++), 2, () => now);
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
  assert.equal(calls, 2);
});

test("concurrent requests share one check", async () => {
  let calls = 0;
  const h = new HealthMonitor(fakeHsm(() => new Promise((r) => setTimeout(() => r(void calls++), 20))), 1, () => 0);
  await Promise.all([h.status(), h.status(), h.status()]);
  assert.equal(calls, 1);
});

test("a failing check reports UNAVAILABLE", async () => {
  const h = new HealthMonitor(fakeHsm(() => Promise.reject(new Error("CKR_DEVICE_ERROR"))), 1, () => 0);
  assert.equal((await h.status()).ekmFleetDetails[0]!.healthStatus, "UNAVAILABLE");
});
