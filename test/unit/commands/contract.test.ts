/** Every command has the house shape: a description, examples in --help, --json where it reports. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { runCli } from "../../../src/cli.js";
import { COMMANDS } from "../../../src/commands/index.js";
import type { CommandDef } from "../../../src/commands/define.js";
import { nonInteractivePrompts } from "../../../src/ui/dialogs.js";

const defs = COMMANDS as readonly CommandDef<Record<string, unknown>>[];
/** Commands whose output is not a report (they run a service or hand the terminal to a tool). */
const NO_JSON = new Set(["serve", "ocs create"]);

test("names are unique and sorted, one file per command", () => {
  const names = defs.map((d) => d.name);
  assert.deepEqual(names, [...names].sort());
  assert.equal(new Set(names).size, names.length);
  for (const n of names) assert.ok(fs.existsSync(`src/commands/${n.replace(/ /g, "-")}.ts`), `src/commands/${n.replace(/ /g, "-")}.ts`);
});

for (const def of defs) {
  test(`${def.name}: description, examples, --help${NO_JSON.has(def.name) ? "" : ", --json"}`, async () => {
    assert.ok(def.description.length > 10);
    assert.ok(def.examples.some((e) => e.startsWith(`xksctl ${def.name}`)), def.examples.join("; "));
    if (!NO_JSON.has(def.name)) assert.ok(def.options.some((o) => o.flags === "--json" || o.flags.startsWith("--json ")), "declares --json");
    let out = "";
    const code = await runCli([...def.name.split(" "), "--help"], {
      env: {},
      cwd: process.cwd(),
      stdout: { write: (s) => void (out += s) },
      stderr: { write: (s) => void (out += s) },
      now: Date.now,
      prompts: nonInteractivePrompts,
      interactive: false,
    });
    assert.equal(code, 0);
    assert.match(out, new RegExp(`Usage: xksctl ${def.name}`));
    assert.match(out, /Examples:\n {2}\$ xksctl /);
  });
}
