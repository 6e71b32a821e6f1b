/** Docs that must match the code: the settings reference and the error catalogue. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { renderConfigDoc } from "../../../src/config/schema-doc.js";
import { ERROR_CATALOGUE } from "../../../src/errors.js";
import { XKS_ERRORS } from "../../../src/proxy/errors.js";

test("docs/config.md is generated from the schema (run `npm run docs:config`)", () => {
  assert.equal(fs.readFileSync("docs/config.md", "utf8"), renderConfigDoc());
});

test("docs/errors.md lists exactly the CLI error codes and the XKS errors, with their statuses", () => {
  const doc = fs.readFileSync("docs/errors.md", "utf8");
  const documented = new Set([...doc.matchAll(/^\| `(XKS_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
  assert.deepEqual([...documented].sort(), Object.keys(ERROR_CATALOGUE).sort());
  for (const [name, status] of Object.entries(XKS_ERRORS)) {
    assert.match(doc, new RegExp(`^\\| ${status} \\| \`${name}\` \\|`, "m"), `${name} (${status}) documented`);
  }
});
