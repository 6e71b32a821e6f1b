/** Random IVs are fetched from the HSM in batches and each is handed out exactly once. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { IV_BATCH, IvBatch } from "../../../../src/hsm/pkcs11/gcm.js";

test("one HSM call per IV_BATCH IVs, no IV handed out twice", async () => {
  let calls = 0;
  const fill = async (n: number) => (calls++, randomBytes(n));
  const ivs = new IvBatch();
  const seen = new Set<string>();
  for (let i = 0; i < IV_BATCH * 3 + 1; i++) {
    const iv = await ivs.next(fill);
    assert.equal(iv.length, 12);
    seen.add(iv.toString("hex"));
  }
  assert.equal(seen.size, IV_BATCH * 3 + 1);
  assert.equal(calls, 4);
});

test("concurrent callers share one refill and still get distinct IVs", async () => {
  let calls = 0;
  const fill = async (n: number) => {
    calls++;
    await new Promise((r) => setTimeout(r, 5));
    return randomBytes(n);
  };
  const ivs = new IvBatch();
  const got = await Promise.all(Array.from({ length: IV_BATCH + 10 }, () => ivs.next(fill)));
  assert.equal(new Set(got.map((b) => b.toString("hex"))).size, IV_BATCH + 10);
  assert.equal(calls, 2);
});

test("a returned IV is a copy: changing it does not touch the batch", async () => {
  const source = Buffer.alloc(12 * IV_BATCH, 7);
  const fill = async () => source;
  const ivs = new IvBatch();
  const iv = await ivs.next(fill);
  iv.fill(1);
  assert.equal((await ivs.next(fill))[0], 7);
});
