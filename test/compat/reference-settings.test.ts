/**
 * Compatibility with the reference proxy's own settings files, unchanged: xksctl reads every one,
 * names each problem as key path, expected, got, and the binary reports them the same way.
 * Runs only when XKS_REFERENCE_DIR names a folder with reference-settings/ (see
 * test/helpers/reference.ts); otherwise every test here is reported as skipped with the reason.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { checkSettingsFile, defaultValidateDeps, formatProblem, locateSettings } from "../../src/config/load.js";
import { NSHIELD_SAMPLE_PROBLEMS, REFERENCE_SETTINGS_FILES, referenceGate } from "../helpers/reference.js";
import { runBin } from "../helpers/serve-process.js";
import { tempDir } from "../helpers/tmp.js";

const settingsFile = (f: string) => `reference-settings/${f}`;
const gate = referenceGate([...REFERENCE_SETTINGS_FILES.map(settingsFile), settingsFile("bootstrap.toml")]);
const ref = (f: string) => gate.file(settingsFile(f));
const deps = defaultValidateDeps({});
const opts = { skip: gate.skip };

describe("the reference proxy's settings files, read by the validator", () => {
  test("there are the seven settings samples this suite knows", opts, () => {
    const found = fs.readdirSync(gate.file("reference-settings")).filter((f) => f.startsWith("settings") && f.endsWith(".toml"));
    assert.deepEqual(found.sort(), [...REFERENCE_SETTINGS_FILES].sort());
  });
  for (const f of REFERENCE_SETTINGS_FILES) {
    test(`${f} parses and every problem names key, expected and got`, opts, () => {
      const r = checkSettingsFile(ref(f), deps);
      for (const p of r.problems) assert.ok(p.path && p.expected && p.got, JSON.stringify(p));
      if (f === "settings_docker.toml") assert.equal(r.problems.length, 0, r.problems.map(formatProblem).join("\n"));
      else assert.ok(r.problems.length > 0);
    });
  }
  test("settings_nshield.toml: the empty credentials of the first store", opts, () => {
    assert.deepEqual(checkSettingsFile(ref("settings_nshield.toml"), deps).problems.map(formatProblem), NSHIELD_SAMPLE_PROBLEMS);
  });
  test("settings.toml: Oso secondary authorization is refused, not silently dropped", opts, () => {
    const r = checkSettingsFile(ref("settings.toml"), deps).problems.map(formatProblem);
    assert.ok(r.some((p) => p.startsWith("[security].secondary_auth: expected absent")), r.join("\n"));
  });
  test("settings_docker.toml: the placeholder credentials of the sample are warned about", opts, () => {
    const r = checkSettingsFile(ref("settings_docker.toml"), deps);
    assert.equal(r.warnings.filter((w) => w.includes("the reference sample's placeholder")).length, 2, r.warnings.join("\n"));
  });
  test("bootstrap.toml, as configuration/bootstrap.toml, points at configuration/settings.toml", opts, () => {
    const dir = tempDir("xksctl-compat-boot-");
    fs.mkdirSync(path.join(dir, "configuration"));
    fs.copyFileSync(ref("bootstrap.toml"), path.join(dir, "configuration/bootstrap.toml"));
    assert.deepEqual(locateSettings(undefined, {}, dir), { file: path.join(dir, "configuration/settings.toml"), source: "configuration/bootstrap.toml" });
  });
});

describe("the reference proxy's settings files, given to the binary", () => {
  test("config validate settings_docker.toml: exit 0, a tick and the placeholder warning", opts, async () => {
    const r = await runBin(["config", "validate", "--config", ref("settings_docker.toml")], process.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /✔ .*settings_docker\.toml is valid/);
    assert.match(r.stderr, /warning: external_key_stores\[0\]\.sigv4_access_key_id: the reference sample's placeholder/);
  });
  test("config validate --json settings_nshield.toml: exit 1 and its two problems as data", opts, async () => {
    const r = await runBin(["config", "validate", "--json", "--config", ref("settings_nshield.toml")], process.env);
    assert.equal(r.code, 1, r.stderr);
    const j = JSON.parse(r.stdout) as { valid: boolean; problems: { path: string }[] };
    assert.equal(j.valid, false);
    assert.deepEqual(j.problems.map((p) => p.path), ["external_key_stores[0].sigv4_access_key_id", "external_key_stores[0].sigv4_secret_access_key"]);
  });
  test("serve settings_nshield.toml: exit 1 listing every problem, no stack trace", opts, async () => {
    const r = await runBin(["serve", "--config", ref("settings_nshield.toml")], process.env, 10_000);
    assert.equal(r.code, 1);
    for (const p of NSHIELD_SAMPLE_PROBLEMS) assert.ok(r.stderr.includes(p), `stderr names "${p}":\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /^\s+at .+\(.*:\d+:\d+\)$/m);
  });
});
