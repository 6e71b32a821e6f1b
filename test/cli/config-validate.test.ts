/**
 * `xksctl config validate` through the real binary: exit codes, messages, --json. The input files
 * are written here with the shape of the reference proxy's samples; the samples themselves are
 * checked by test/compat/reference-settings.test.ts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import TOML from "@iarna/toml";
import { dockerShapedSettings, nshieldShapedSettings } from "../helpers/reference.js";
import { runBin } from "../helpers/serve-process.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir("xksctl-validate-");
const write = (name: string, doc: Record<string, unknown>) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, TOML.stringify(doc as TOML.JsonMap), { mode: 0o600 });
  return f;
};
const dockerFile = write("docker-shaped.toml", dockerShapedSettings());
const nshieldFile = write("nshield-shaped.toml", nshieldShapedSettings());

test("a valid file: exit 0 and a tick", async () => {
  const r = await runBin(["config", "validate", "--config", dockerFile], process.env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /✔ .*docker-shaped\.toml is valid/);
  assert.match(r.stderr, /warning: external_key_stores\[0\]\.sigv4_access_key_id: the reference sample's placeholder/);
});

test("an invalid file: exit 1, one line per problem, the fix", async () => {
  const r = await runBin(["config", "validate", "--config", nshieldFile], process.env);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /✖ .*nshield-shaped\.toml: 2 problems\n  external_key_stores\[0\]\.sigv4_access_key_id: expected 20-30 characters of A-Z and 2-7, got "" \(empty string\)\n/);
  assert.match(r.stdout, /→ Fix each key listed above/);
});

test("--json reports problems and warnings as data", async () => {
  const r = await runBin(["config", "validate", "--json", "--config", nshieldFile], process.env);
  assert.equal(r.code, 1);
  const j = JSON.parse(r.stdout);
  assert.equal(j.valid, false);
  assert.equal(j.source, "--config");
  assert.deepEqual(j.problems[0], { path: "external_key_stores[0].sigv4_access_key_id", expected: "20-30 characters of A-Z and 2-7", got: '"" (empty string)' });
});

test("XKS_PROXY_SETTINGS_TOML is used when --config is absent", async () => {
  const r = await runBin(["config", "validate", "--json"], { ...process.env, XKS_PROXY_SETTINGS_TOML: dockerFile });
  assert.equal(JSON.parse(r.stdout).source, "XKS_PROXY_SETTINGS_TOML");
});

test("a TOML syntax error names the line and column, no stack trace", async () => {
  const f = path.join(tempDir("xksctl-"), "bad.toml");
  fs.writeFileSync(f, "[server]\nport = = 1\n");
  const r = await runBin(["config", "validate", "--config", f], process.env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /✖ .*bad\.toml:2:\d+: /);
  assert.match(r.stderr, /→ Fix the TOML syntax/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test("an unknown option is a usage error (exit 2) with help", async () => {
  const r = await runBin(["config", "validate", "--nope"], process.env);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option '--nope'/);
});
