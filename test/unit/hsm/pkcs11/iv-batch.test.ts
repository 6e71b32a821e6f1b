/** Random IVs are fetched from the HSM in batches and each is handed out exactly once. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { IV_BATCH, IvBatch } from "../../../../src/hsm/pkcs11/gcm.js";

test("one HSM call per IV_BATCH IVs, no IV handed out twice", () => {
  let calls = 0;
  const ivs = new IvBatch((n) => (calls++, randomBytes(n)));
  const seen = new Set<string>();
  for (let i = 0; i < IV_BATCH * 3 + 1; i++) {
    const iv = ivs.next();
    assert.equal(iv.length, 12);
    seen.add(iv.toString("hex"));
  }
  assert.equal(seen.size, IV_BATCH * 3 + 1);
  assert.equal(calls, 4);
});

test("a returned IV is a copy: changing it does not touch the batch", () => {
  const source = Buffer.alloc(12 * IV_BATCH, 7);
  const ivs = new IvBatch(() => source);
  const iv = ivs.next();
  iv.fill(1);
  assert.equal(ivs.next()[0], 7);
});
