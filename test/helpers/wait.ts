/** Waiting in tests for something that happens in the background: a log line, a state, a value. */
import assert from "node:assert/strict";

/**
 * Calls `get` every 10 ms until it returns something other than undefined or false, and resolves
 * to that; fails the test ("timed out waiting for: `what`") after `ms`. `get` may be async.
 */
export async function until<T>(get: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
