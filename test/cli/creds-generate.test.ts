/** `xksctl creds generate`: formats, settings edits, one-time display, console JSON, failures. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import { defaultValidateDeps, loadSettings } from "../../src/config/load.js";
import { ACCESS_KEY_ID_RE, SECRET_RE } from "../../src/rules.js";
import { comments, runXksctl, writeCommentedSettings } from "../helpers/operator.js";
import { tempDir } from "../helpers/tmp.js";

let dir: string;
before(() => (dir = tempDir("xksctl-creds-")));
const settings = (extra: Parameters<typeof writeCommentedSettings>[1] extends infer O ? Partial<O> : never = {}) =>
  writeCommentedSettings(dir, { tokenLabel: "t", pin: "1234", ...extra }, `s-${crypto.randomUUID()}.toml`);
/** Deterministic "random" bytes: 0x00, 0x01, ... per call. */
const counting = () => (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i));

describe("creds generate", () => {
  test("writes KMS-format credentials into the store, keeps comments, shows the secret once", async () => {
    const file = settings();
    const before = fs.readFileSync(file, "utf8");
    const r = await runXksctl(["creds", "generate", "--config", file], { operator: { randomBytes: counting() } });
    assert.equal(r.code, 0, r.stderr);
    const akid = "AAAQEAYEAUDAOCAJBIFQYDIOB4"; // base32 of bytes 0..15
    const secret = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString("base64");
    assert.match(akid, ACCESS_KEY_ID_RE);
    assert.match(secret, SECRET_RE);
    assert.match(r.stdout, new RegExp(`AccessKeyId          ${akid}\\n  RawSecretAccessKey   ${secret.replace(/[+/]/g, "\\$&")}\\n`));
    assert.equal(r.stdout.split(secret).length - 1, 1, "the secret is printed exactly once");
    assert.ok(!r.stderr.includes(secret));
    assert.match(r.stdout, /XksProxyUriPath      \/example\/prefix\/kms\/xks\/v1/);
    assert.match(r.stdout, /This secret is shown only once/);
    const after = fs.readFileSync(file, "utf8");
    assert.deepEqual(comments(after), comments(before));
    assert.equal(fs.readFileSync(`${file}.bak`, "utf8"), before);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const { settings: s, warnings } = loadSettings(file, defaultValidateDeps({}));
    assert.deepEqual(s.external_key_stores[0]!.credentials, [{ accessKeyId: akid, secretAccessKey: secret }]);
    assert.ok(!warnings.some((w) => /placeholder/.test(w)), warnings.join("\n"));
  });

  test("--console-json writes the KMS console file with mode 0600; --json returns everything", async () => {
    const file = settings();
    const out = path.join(dir, `console-${crypto.randomUUID()}.json`);
    const r = await runXksctl(["creds", "generate", "--config", file, "--console-json", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(fs.statSync(out).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(fs.readFileSync(out, "utf8")), {
      XksProxyUriPath: "/example/prefix/kms/xks/v1",
      XksProxyAuthenticationCredential: { AccessKeyId: j.accessKeyId, RawSecretAccessKey: j.secretAccessKey },
    });
    assert.equal(j.consoleJson, out);
    assert.match(j.accessKeyId, ACCESS_KEY_ID_RE);
    assert.match(j.secretAccessKey, SECRET_RE);
  });

  test("a settings file others could read ends 0600, and so does its backup holding the old secret", async () => {
    const file = settings({ secret: "OldSecretOldSecretOldSecretOldSecretOldSecret" });
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(`${file}.bak`, "stale backup\n", { mode: 0o644 });
    fs.chmodSync(`${file}.bak`, 0o644);
    const r = await runXksctl(["creds", "generate", "--config", file, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(fs.readFileSync(file, "utf8").includes(JSON.parse(r.stdout).secretAccessKey));
    assert.equal(fs.statSync(`${file}.bak`).mode & 0o777, 0o600);
    assert.ok(fs.readFileSync(`${file}.bak`, "utf8").includes("OldSecretOldSecretOldSecretOldSecretOldSecret"));
  });

  test("a relative sigv4_secret_access_key_file is the one next to the settings, whatever the working directory", async () => {
    const sub = fs.mkdtempSync(path.join(dir, "rel-"));
    fs.writeFileSync(path.join(sub, "sigv4.secret"), "PleaseReplaceThisWithSomeSecretOfLength43To64\n", { mode: 0o600 });
    const file = writeCommentedSettings(sub, { tokenLabel: "t", pin: "1234", secretFile: "sigv4.secret" });
    const elsewhere = fs.mkdtempSync(path.join(dir, "cwd-"));
    const r = await runXksctl(["creds", "generate", "--config", file, "--json"], { cwd: elsewhere });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.secretFile, path.join(sub, "sigv4.secret"));
    assert.equal(fs.readFileSync(path.join(sub, "sigv4.secret"), "utf8"), `${j.secretAccessKey}\n`);
    assert.deepEqual(fs.readdirSync(elsewhere), []);
    // serve's validation reads the same file, from any working directory.
    const { settings: s } = loadSettings(file, defaultValidateDeps({}), elsewhere);
    assert.deepEqual(s.external_key_stores[0]!.credentials, [{ accessKeyId: j.accessKeyId, secretAccessKey: j.secretAccessKey }]);
  });

  test("two stores: --store is required, picks the right one, an unknown one fails", async () => {
    const file = settings({ secondStore: true });
    const none = await runXksctl(["creds", "generate", "--config", file]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /✖ .* has 2 key stores; say which with --store \(one of "\/example\/prefix", "\/second\/store"\)\.\n→ Pass --store/);
    const r = await runXksctl(["creds", "generate", "--config", file, "--store", "/second/store", "--json"]);
    assert.equal(r.code, 0);
    const { settings: s } = loadSettings(file, defaultValidateDeps({}));
    assert.equal(s.external_key_stores[1]!.sigv4_access_key_id, JSON.parse(r.stdout).accessKeyId);
    assert.equal(s.external_key_stores[0]!.sigv4_access_key_id, "BETWEEN2TENAND3TENCHARACTERS");
    const unknown = await runXksctl(["creds", "generate", "--config", file, "--store", "/nope"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /No key store with uri_path_prefix "\/nope"/);
  });

  test("a store reading its secret from a file: the file gets the secret (0600), the settings the id", async () => {
    const secretFile = path.join(dir, `secret-${crypto.randomUUID()}`);
    fs.writeFileSync(secretFile, "PleaseReplaceThisWithSomeSecretOfLength43To64\n", { mode: 0o644 });
    const file = settings({ secretFile });
    const r = await runXksctl(["creds", "generate", "--config", file, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(fs.readFileSync(secretFile, "utf8"), `${j.secretAccessKey}\n`);
    assert.equal(fs.statSync(secretFile).mode & 0o777, 0o600);
    assert.ok(!fs.readFileSync(file, "utf8").includes(j.secretAccessKey));
    const { settings: s } = loadSettings(file, defaultValidateDeps({}));
    assert.deepEqual(s.external_key_stores[0]!.credentials, [{ accessKeyId: j.accessKeyId, secretAccessKey: j.secretAccessKey }]);
  });

  test("refusals: secret from an environment variable, a missing settings file, an unwritable console path", async () => {
    const envFile = settings();
    fs.writeFileSync(envFile, fs.readFileSync(envFile, "utf8").replace(/sigv4_secret_access_key = .*/, 'sigv4_secret_access_key_env = "XKS_SECRET"'));
    const e1 = await runXksctl(["creds", "generate", "--config", envFile]);
    assert.equal(e1.code, 1);
    assert.match(e1.stderr, /reads its secret from the environment variable XKS_SECRET, which xksctl cannot change/);
    const e2 = await runXksctl(["creds", "generate", "--config", path.join(dir, "none.toml")]);
    assert.equal(e2.code, 1);
    assert.match(e2.stderr, /✖ Cannot read settings file .*none\.toml \(ENOENT\)/);
    const file = settings();
    const before = fs.readFileSync(file, "utf8");
    const e3 = await runXksctl(["creds", "generate", "--config", file, "--console-json", path.join(dir, "no/such/dir/x.json")]);
    assert.equal(e3.code, 1);
    assert.match(e3.stderr, /its directory is missing or not writable; nothing was changed/);
    assert.equal(fs.readFileSync(file, "utf8"), before);
  });
});
