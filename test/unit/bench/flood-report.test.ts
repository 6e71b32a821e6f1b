/** The flood's table: both serve runs with their /ping probes, then the bare node:http2 baseline. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { floodReport, type LoadResult } from "../../../bench/run.js";

const load = (requests: number, max: number, non2xxByStatus: Record<string, number> = {}): LoadResult => {
  const non2xx = Object.values(non2xxByStatus).reduce((a, b) => a + b, 0);
  const ok = requests > non2xx ? { p50: 150, max: max - 1 } : { p50: NaN, max: NaN };
  return { rps: requests / 8, requests, non2xx, non2xxByStatus, p50: 100, p99: 200, max, ok, late: { all: max > 250 ? 7 : 0, ok: max > 250 && requests > non2xx ? 3 : 0 } };
};

test("the bare server's flood is the table's last row, marked as a baseline and not a target; every row counts its answers over 250 ms", () => {
  const table = floodReport({
    serve: [
      { workers: 1, load: load(90_000, 343.9, { "429": 89_800 }), ping: load(23, 205.4) },
      { workers: "default", load: load(147_000, 395.7, { "429": 146_700 }), ping: load(39, 155.7) },
    ],
    bare: load(104_100, 280.2, { "429": 104_100 }),
  });
  const rows = table.split("\n").slice(2);
  assert.equal(rows.length, 5);
  assert.match(rows[0]!, /^\| signed Encrypt, .*, 1 worker \| 90000 \| 200× 2xx, 89800× 429 \| 100\.0 \| 200\.0 \| \*\*343\.9\*\* \| 7 \(3× 2xx\) \| 150\.0 \/ 342\.9 \|$/);
  assert.match(rows[1]!, /^\| GET \/ping during the flood .*, 1 worker \| 23 \| .* \| 0 \(0× 2xx\) \|/);
  assert.match(rows[2]!, /default workers \| 147000 \|.*\*\*395\.7\*\* \| 7 \(3× 2xx\) \| 150\.0 \/ 394\.7 \|$/);
  assert.match(rows[3]!, /^\| GET \/ping during the flood .*, default workers \|/);
  assert.match(rows[4]!, /^\| baseline, not a target: the same flood against a bare node:http2 server .* \| 104100 \| 0× 2xx, 104100× 429 \| 100\.0 \| 200\.0 \| \*\*280\.2\*\* \| 7 \(0× 2xx\) \| n\/a \|$/);
});
