/** The bench's throughput targets count 2xx answers only: a flood of cheap 429s is not throughput. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { okRps, type LoadResult } from "../../../bench/run.js";

const load = (rps: number, requests: number, non2xxByStatus: Record<string, number>): LoadResult => ({
  rps,
  requests,
  non2xx: Object.values(non2xxByStatus).reduce((a, b) => a + b, 0),
  non2xxByStatus,
  p50: 1,
  p99: 2,
  max: 3,
});

test("all 2xx: h2load's req/s as it is", () => {
  assert.equal(okRps(load(1000, 5000, {})), 1000);
});

test("429s are taken out of the rate in proportion", () => {
  assert.equal(okRps(load(1000, 5000, { "429": 1000 })), 800);
  assert.equal(okRps(load(1000, 5000, { "429": 500, "500": 500 })), 800);
});

test("streams without a response count as answers that were not 2xx (they are not in the log's rows)", () => {
  // 4000 rows with a status, 1000 resets: 5000 finished streams, 3000 of them 2xx.
  assert.equal(okRps(load(1000, 4000, { "429": 1000, "no response": 1000 })), 600);
});

test("nothing answered: 0, not NaN", () => {
  assert.equal(okRps(load(0, 0, {})), 0);
});
