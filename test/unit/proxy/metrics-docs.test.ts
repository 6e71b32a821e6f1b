/** docs/operations.md's table of metrics names every metric the proxy exports, and no other. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createMetrics } from "../../../src/proxy/metrics.js";

test("docs/operations.md lists every exported metric, and only those", async () => {
  const exported = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name).sort();
  const doc = readFileSync(path.resolve(import.meta.dirname, "../../../docs/operations.md"), "utf8");
  const section = doc.slice(doc.indexOf("\n## Metrics\n"), doc.indexOf("\n## ", doc.indexOf("\n## Metrics\n") + 1));
  const listed = [...section.matchAll(/^\| `(xksctl_[a-z_]+)` \|/gm)].map((m) => m[1]!).sort();
  assert.ok(exported.length > 0);
  assert.deepEqual(listed, exported);
});
