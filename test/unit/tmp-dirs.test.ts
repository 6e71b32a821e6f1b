/** The tests' temporary directories do not outlive the test file's process, even when a test throws. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const helper = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../helpers/tmp.ts");

/** Runs `body` in a new node process that made one tempDir (holding a file) first; returns the dir and the exit code. */
function run(body: string): { dir: string; status: number | null } {
  const script = `import fs from "node:fs"; import { tempDir } from ${JSON.stringify(helper)};
    const dir = tempDir("xksctl-tmptest-"); fs.writeFileSync(dir + "/pin", "1234"); process.stdout.write(dir); ${body}`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
  assert.match(r.stdout, /xksctl-tmptest-/, r.stderr);
  return { dir: r.stdout, status: r.status };
}

test("a temp dir is gone once its process exits", () => {
  const { dir, status } = run("");
  assert.equal(status, 0);
  assert.equal(fs.existsSync(dir), false);
});

test("a temp dir is gone when its process ends on an uncaught error", () => {
  const { dir, status } = run(`throw new Error("a test that failed before its own cleanup");`);
  assert.equal(status, 1);
  assert.equal(fs.existsSync(dir), false);
});

test("a temp dir stays while its process runs", () => {
  const { status } = run(`if (!fs.existsSync(dir + "/pin")) process.exit(3);`);
  assert.equal(status, 0);
});
