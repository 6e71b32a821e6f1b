/** The bench says which [server] key refused its 429s, from serve's summary lines. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { refusedBetween, statusCounts, summarize, type LoadResult } from "../../../bench/run.js";

const at = Date.parse("2026-12-03T07:00:00.000Z");

test("a summary line counts for the run in which its window began, not the one in which it was written", () => {
  const lines = [
    { at: at - 500, count: 7, limit: "max_event_loop_delay_milli" }, // began before the run: a warm-up's
    { at: at + 100, count: 10, limit: "max_service_time_milli" },
    { at: at + 900, count: 5, limit: "max_service_time_milli" },
    { at: at + 950, count: 2, limit: "max_in_flight_requests" },
    { at: at + 1500, count: 3, limit: "max_in_flight_requests" }, // the next run's
  ];
  assert.deepEqual(refusedBetween(lines, at, at + 1000), { max_service_time_milli: 15, max_in_flight_requests: 2 });
  assert.deepEqual(refusedBetween(lines, at + 2000, at + 3000), {});
});

const load = (non2xxByStatus: Record<string, number>, refusedBy?: Record<string, number>): LoadResult => ({
  rps: 1000,
  requests: 5000,
  non2xx: Object.values(non2xxByStatus).reduce((a, b) => a + b, 0),
  non2xxByStatus,
  p50: 1,
  p99: 2,
  max: 3,
  ...(refusedBy ? { refusedBy } : {}),
});

test("the table names the keys beside the 429s, summed over runs; without refusals it is as before", () => {
  const s = summarize([load({ "429": 12 }, { max_service_time_milli: 10 }), load({ "429": 3, "503": 1 }, { max_service_time_milli: 1, max_event_loop_delay_milli: 2 }), load({})]);
  assert.equal(statusCounts(s), "15× 429 (admission's log: 11 max_service_time_milli, 2 max_event_loop_delay_milli), 1× 503");
  assert.equal(statusCounts(summarize([load({ "429": 4 })])), "4× 429");
  assert.equal(statusCounts(summarize([load({})])), "");
});
