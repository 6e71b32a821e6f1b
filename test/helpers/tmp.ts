/**
 * Temporary directories for tests and their helpers, removed when the process exits. Each test
 * file runs in a process of its own, so a file's directories go when its tests are done, also
 * after a test that failed or timed out before its own cleanup (a killed process keeps them). Some
 * hold SoftHSM tokens, PINs and TLS keys: none stays behind in the system's temp folder.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const made = new Set<string>();
process.on("exit", () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new directory `<tmp>/<prefix>XXXXXX` (mode 0700), removed when the process exits. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.add(dir);
  return dir;
}
