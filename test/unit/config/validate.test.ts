/**
 * Settings validation: problems are named as key path, expected, got; KMS's formats are enforced;
 * extensions and defaults behave as documented. Inputs are built here with the shape of the
 * reference proxy's samples (test/helpers/reference.ts); the samples themselves are checked by
 * test/compat/reference-settings.test.ts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import TOML from "@iarna/toml";
import { checkSettingsFile, defaultValidateDeps, formatProblem, locateSettings } from "../../../src/config/load.js";
import { validateSettings } from "../../../src/config/validate.js";
import { dockerShapedSettings, NSHIELD_SAMPLE_PROBLEMS, nshieldShapedSettings } from "../../helpers/reference.js";
import { tempDir } from "../../helpers/tmp.js";

const deps = defaultValidateDeps({});
const docker = dockerShapedSettings;
const problemsOf = (doc: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => validateSettings(doc, "/x/settings.toml", { ...deps, env }).problems.map(formatProblem);
const tmpFile = (doc: Record<string, unknown>, name: string, mode = 0o600) => {
  const f = path.join(tempDir("xksctl-cfg-"), name);
  fs.writeFileSync(f, TOML.stringify(doc as TOML.JsonMap), { mode });
  fs.chmodSync(f, mode);
  return f;
};

describe("files shaped like the reference proxy's samples", () => {
  test("a docker-shaped file is valid; its problems list is empty", () => {
    const r = checkSettingsFile(tmpFile(docker(), "settings_docker.toml"), deps);
    assert.deepEqual(r.problems.map(formatProblem), []);
  });
  test("an nShield-shaped file: exactly the empty credentials of the first store, each naming key, expected and got", () => {
    const r = checkSettingsFile(tmpFile(nshieldShapedSettings(), "settings_nshield.toml"), deps);
    for (const p of r.problems) assert.ok(p.path && p.expected && p.got, JSON.stringify(p));
    assert.deepEqual(r.problems.map(formatProblem), NSHIELD_SAMPLE_PROBLEMS);
  });
  test("Oso secondary authorization (as settings.toml can enable) is refused, not silently dropped", () => {
    const d = docker();
    d.security.secondary_auth = "Oso";
    d.security.oso = { polar_file_path: "configuration/oso.polar" };
    const p = problemsOf(d);
    assert.ok(p.some((x) => x.startsWith("[security].secondary_auth: expected absent")), p.join("\n"));
  });
  test("the placeholder credentials of the samples are warned about", () => {
    const r = checkSettingsFile(tmpFile(docker(), "settings_docker.toml"), deps);
    assert.deepEqual(
      r.warnings.filter((w) => w.includes("placeholder")),
      [
        "external_key_stores[0].sigv4_access_key_id: the reference sample's placeholder; run `xksctl creds generate` before production use",
        "external_key_stores[0].sigv4_secret_access_key: the reference sample's placeholder; run `xksctl creds generate` before production use",
      ],
    );
  });
  test("defaults: port_http_ping 80, keepalive off unless set, fleet_size 1", () => {
    const doc = docker();
    delete doc.server.port_http_ping;
    doc.server.tcp_keepalive = {};
    const s = validateSettings(doc, "/x", deps).settings!;
    assert.equal(s.server.port_http_ping, 80);
    assert.equal(s.server.tcp_keepalive.tcp_keepalive_secs, undefined);
    assert.equal(s.server.fleet_size, 1);
  });
});

describe("KMS's rules", () => {
  const cases: [string, (d: Record<string, any>) => void, string][] = [
    ["a short access key id", (d) => (d.external_key_stores[0].sigv4_access_key_id = "ABC"), 'external_key_stores[0].sigv4_access_key_id: expected 20-30 characters of A-Z and 2-7, got "ABC" (string, 3 characters)'],
    ["a lower-case access key id", (d) => (d.external_key_stores[0].sigv4_access_key_id = "abcdefghijklmnopqrstu"), "external_key_stores[0].sigv4_access_key_id: expected 20-30 characters of A-Z and 2-7"],
    ["a secret with a bad character", (d) => (d.external_key_stores[0].sigv4_secret_access_key = "x".repeat(42) + "!"), "external_key_stores[0].sigv4_secret_access_key: expected 43-64 characters of a-z A-Z 0-9 / + =, got a 43-character value (hidden)"],
    ["a prefix with a trailing slash", (d) => (d.external_key_stores[0].uri_path_prefix = "/example/"), "external_key_stores[0].uri_path_prefix: expected"],
    ["a prefix with a dot", (d) => (d.external_key_stores[0].uri_path_prefix = "/exa.mple"), "external_key_stores[0].uri_path_prefix: expected"],
    ["a prefix too long", (d) => (d.external_key_stores[0].uri_path_prefix = "/" + "a".repeat(117)), "external_key_stores[0].uri_path_prefix: expected"],
    ["a key id with a slash", (d) => (d.external_key_stores[0].xks_key_id_set = ["a/b"]), 'external_key_stores[0].xks_key_id_set[0]: expected 1-128 characters of A-Z a-z 0-9 - . _ (not . or ..), got "a/b"'],
    ["a key id of 129 characters", (d) => (d.external_key_stores[0].xks_key_id_set = ["k".repeat(129)]), "external_key_stores[0].xks_key_id_set[0]: expected 1-128"],
    ["the key id ..", (d) => (d.external_key_stores[0].xks_key_id_set = [".."]), "external_key_stores[0].xks_key_id_set[0]: expected"],
    ["a duplicate prefix", (d) => d.external_key_stores.push({ ...d.external_key_stores[0] }), "external_key_stores[1].uri_path_prefix: expected a prefix unique among key stores"],
    ["metadata over 20 bytes", (d) => (d.server.ciphertext_metadata_b64 = Buffer.alloc(21).toString("base64")), "[server].ciphertext_metadata_b64: expected canonical Base64 of at most 20 bytes"],
    ["a port that is not a number", (d) => (d.server.port = "8443a"), '[server].port: expected an integer 0-65535, got "8443a" (string, 5 characters)'],
    ["an ip that is a host name", (d) => (d.server.ip = "localhost"), '[server].ip: expected an IP address such as 0.0.0.0 or 127.0.0.1, got "localhost"'],
    ["a missing required table", (d) => delete d.limits, "[limits]: expected a table, got nothing (table absent)"],
    ["a missing required key", (d) => delete d.pkcs11.session_pool_max_size, "[pkcs11].session_pool_max_size: expected an integer 1-1024, got nothing (key absent)"],
    ["TLS on without files", (d) => (d.security.is_tls_enabled = true), "[tls]: expected a table (is_tls_enabled = true)"],
    ["limits below the spec minimum", (d) => (d.limits.max_plaintext_in_base64 = 4096), "[limits].max_plaintext_in_base64: expected an integer 5736-65536, got 4096 (integer)"],
    ["a file writer without a directory", (d) => (d.tracing.is_file_writer_enabled = true), "[tracing].directory: expected a value (is_file_writer_enabled = true)"],
  ];
  for (const [name, mutate, expected] of cases) {
    test(name, () => {
      const d = docker();
      mutate(d);
      const p = problemsOf(d);
      assert.ok(p.some((x) => x.startsWith(expected)), `expected a problem starting with:\n  ${expected}\ngot:\n  ${p.join("\n  ")}`);
    });
  }
  test("a secret is never echoed in a problem", () => {
    const d = docker();
    d.external_key_stores[0].sigv4_secret_access_key = "SECRETVALUE!!";
    assert.ok(!problemsOf(d).join("\n").includes("SECRETVALUE"));
  });
});

describe("extensions", () => {
  const tmp = tempDir("xksctl-cfg-");
  test("the PIN and the SigV4 secret from a file and from the environment", () => {
    const d = docker();
    const pinFile = path.join(tmp, "pin");
    fs.writeFileSync(pinFile, "4321\n", { mode: 0o600 });
    delete d.pkcs11.user_pin;
    d.pkcs11.user_pin_file = pinFile;
    delete d.external_key_stores[0].sigv4_secret_access_key;
    d.external_key_stores[0].sigv4_secret_access_key_env = "XKS_TEST_SECRET";
    const s = validateSettings(d, "/x", { ...deps, env: { XKS_TEST_SECRET: "s".repeat(44) } }).settings!;
    assert.equal(s.pkcs11.user_pin, "4321");
    assert.equal(s.external_key_stores[0]!.credentials[0]!.secretAccessKey, "s".repeat(44));
  });
  test("an unset secret variable and an unreadable PIN file are named", () => {
    const d = docker();
    delete d.pkcs11.user_pin;
    d.pkcs11.user_pin_file = path.join(tmp, "missing");
    delete d.external_key_stores[0].sigv4_secret_access_key;
    d.external_key_stores[0].sigv4_secret_access_key_env = "XKS_UNSET";
    const p = problemsOf(d);
    assert.ok(p.some((x) => x.startsWith("[pkcs11].user_pin_file: expected a readable file holding the secret, got")), p.join("\n"));
    assert.ok(p.some((x) => x === "external_key_stores[0].sigv4_secret_access_key_env: expected environment variable XKS_UNSET to be set, got it is unset or empty"), p.join("\n"));
  });
  test("two sources for one secret is a problem", () => {
    const d = docker();
    d.pkcs11.user_pin_env = "PIN";
    assert.ok(problemsOf(d, { PIN: "1" }).some((x) => x.startsWith("[pkcs11].user_pin: expected one source")));
  });
  test("unknown keys warn and do not fail (the reference ignores them)", () => {
    const d = docker();
    d.server.prot = 1;
    d.nonsense = { a: 1 };
    const r = validateSettings(d, "/x", deps);
    assert.equal(r.problems.length, 0);
    assert.ok(r.warnings.includes("[server].prot: unknown key, ignored (check the spelling)"));
    assert.ok(r.warnings.some((w) => w.startsWith("nonsense: unknown table")));
  });
});

describe("file mode", () => {
  test("a settings file holding secrets that others can read is warned about", () => {
    const f = tmpFile(docker(), "settings.toml", 0o644);
    assert.ok(checkSettingsFile(f, deps).warnings.includes(`${f}: mode 0644 lets other users read the PIN or SigV4 secrets; run chmod 600 ${f}`));
    fs.chmodSync(f, 0o600);
    assert.ok(!checkSettingsFile(f, deps).warnings.some((w) => w.includes("chmod")));
  });
});

describe("lookup order", () => {
  test("--config, then XKS_PROXY_SETTINGS_TOML, then configuration/bootstrap.toml", () => {
    const dir = tempDir("xksctl-boot-");
    fs.mkdirSync(path.join(dir, "configuration"));
    fs.writeFileSync(path.join(dir, "configuration/bootstrap.toml"), 'XKS_PROXY_SETTINGS_TOML = "configuration/settings.toml"\n');
    assert.equal(locateSettings("a.toml", { XKS_PROXY_SETTINGS_TOML: "/e.toml" }, dir).file, path.join(dir, "a.toml"));
    assert.equal(locateSettings(undefined, { XKS_PROXY_SETTINGS_TOML: "/e.toml" }, dir).file, "/e.toml");
    assert.deepEqual(locateSettings(undefined, {}, dir), { file: path.join(dir, "configuration/settings.toml"), source: "configuration/bootstrap.toml" });
  });
});
