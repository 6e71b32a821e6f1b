/** In-place TOML edits keep every comment and line, re-parse to exactly the intended document. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import TOML from "@iarna/toml";
import { isXksctlError } from "../../../src/errors.js";
import { validateSettings } from "../../../src/config/validate.js";
import { applySettingsEdits, renderTomlValue } from "../../../src/config/settings-edit.js";
import { commentedSettings, comments } from "../../helpers/operator.js";

const base = () => commentedSettings({ tokenLabel: "t", pin: "1234", keyIds: ["existing-key", "k2"], secondStore: true });
const store0 = { table: "external_key_stores", index: 0 };
const store1 = { table: "external_key_stores", index: 1 };
const parse = (t: string) => TOML.parse(t) as Record<string, any>;
const deps = { env: {}, readSecretFile: () => "" };

/** Lines of `after` not in `before` and vice versa. */
function lineDiff(before: string, after: string): { added: string[]; removed: string[] } {
  const b = before.split("\n");
  const a = after.split("\n");
  return { added: a.filter((l) => !b.includes(l)), removed: b.filter((l) => !a.includes(l)) };
}

describe("settings edits", () => {
  test("append to a multi-line array keeps comments and adds one line", () => {
    const before = base();
    const after = applySettingsEdits(before, [{ op: "append", at: store0, key: "xks_key_id_set", value: "new-key" }]);
    assert.deepEqual(comments(after), comments(before));
    assert.deepEqual(lineDiff(before, after), { added: ['    "new-key",'], removed: [] });
    assert.deepEqual(parse(after).external_key_stores[0].xks_key_id_set, ["existing-key", "k2", "new-key"]);
    assert.deepEqual(parse(after).external_key_stores[1].xks_key_id_set, ["second-key"]);
  });

  test("append to a one-line array in the second store", () => {
    const before = base();
    const after = applySettingsEdits(before, [{ op: "append", at: store1, key: "xks_key_id_set", value: "b.key_2" }]);
    assert.match(after, /^xks_key_id_set = \["second-key", "b\.key_2"\]   # one-line array$/m);
    assert.deepEqual(comments(after), comments(before));
  });

  test("append is idempotent", () => {
    const before = base();
    assert.equal(applySettingsEdits(before, [{ op: "append", at: store0, key: "xks_key_id_set", value: "k2" }]), before);
  });

  test("array shapes: empty, empty multi-line, last element without comma, nested comments", () => {
    const doc = (arr: string) => `[[s]]\nids = ${arr} # tail\nother = 1\n`;
    const add = (t: string) => applySettingsEdits(t, [{ op: "append", at: { table: "s", index: 0 }, key: "ids", value: "x" }]);
    assert.equal(add(doc("[]")), doc('["x"]'));
    assert.equal(add(doc("[ ]")), doc('["x"]'));
    assert.equal(add(doc('["a"]')), doc('["a", "x"]'));
    assert.equal(add(doc('["a",]')), doc('["a", "x"]'));
    assert.equal(add("[[s]]\nids = [\n  # none yet\n]\n"), '[[s]]\nids = [\n  # none yet\n  "x",\n]\n');
    assert.equal(add('[[s]]\nids = [\n  "a" # no comma, ] in comment\n]\n'), '[[s]]\nids = [\n  "a", # no comma, ] in comment\n  "x",\n]\n');
    assert.equal(add('[[s]]\nids = [ "a", # c1\n  "b"]\n'), '[[s]]\nids = [ "a", # c1\n  "b", "x"]\n');
  });

  test("set replaces only the value and keeps the trailing comment", () => {
    const before = base();
    const after = applySettingsEdits(before, [
      { op: "set", at: store0, key: "sigv4_access_key_id", value: "ABCDEFGHIJKLMNOPQRSTUVWXYZ" },
      { op: "set", at: store0, key: "sigv4_secret_access_key", value: "a/b+c=".padEnd(44, "x") },
    ]);
    assert.deepEqual(comments(after), comments(before));
    const d = lineDiff(before, after);
    assert.deepEqual(d.removed, ['sigv4_access_key_id = "BETWEEN2TENAND3TENCHARACTERS"', 'sigv4_secret_access_key = "PleaseReplaceThisWithSomeSecretOfLength43To64"   # secret comment']);
    assert.deepEqual(d.added, ['sigv4_access_key_id = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"', `sigv4_secret_access_key = "${"a/b+c=".padEnd(44, "x")}"   # secret comment`]);
    assert.equal(parse(after).external_key_stores[1].sigv4_access_key_id, "SECONDSTOREACCESSKEY23");
  });

  test("set in a plain table, an absent key, an absent table; quoted keys and strings needing escapes", () => {
    const before = base();
    const after = applySettingsEdits(before, [
      { op: "set", at: { table: "pkcs11" }, key: "session_pool_max_size", value: 7 },
      { op: "set", at: { table: "pkcs11" }, key: "user_pin_env", value: "XKS_PIN" },
      { op: "set", at: { table: "server.tcp_keepalive" }, key: "tcp_keepalive_retries", value: 3 },
      { op: "set", at: { table: "newtable" }, key: "weird key", value: 'quote " and \\ back' },
      { op: "set", at: { table: "security" }, key: "is_tls_enabled", value: true },
    ]);
    const p = parse(after);
    assert.equal(p.pkcs11.session_pool_max_size, 7);
    assert.equal(p.pkcs11.user_pin_env, "XKS_PIN");
    assert.equal(p.server.tcp_keepalive.tcp_keepalive_retries, 3);
    assert.equal(p.newtable["weird key"], 'quote " and \\ back');
    assert.equal(p.security.is_tls_enabled, true);
    assert.deepEqual(comments(after), comments(before));
    assert.match(after, /token_label = "t"\nuser_pin_env = "XKS_PIN"\n/);
  });

  test("strings and multi-line strings holding brackets, quotes and # are not mistaken for structure", () => {
    const text = `a = "x [y] # not a comment"\nb = '''\n[fake]\nz = 1\n'''\n[t]\nk = """a\\"""b"""\nids = ["]", '[']\n`;
    const after = applySettingsEdits(text, [
      { op: "append", at: { table: "t" }, key: "ids", value: "q" },
      { op: "set", at: { table: "" }, key: "a", value: "new" },
    ]);
    assert.deepEqual(parse(after), { a: "new", b: "[fake]\nz = 1\n", t: { k: 'a"""b', ids: ["]", "[", "q"] } });
  });

  test("the edited reference-style settings still validate", () => {
    const after = applySettingsEdits(base(), [
      { op: "append", at: store0, key: "xks_key_id_set", value: "new-key" },
      { op: "set", at: store0, key: "sigv4_access_key_id", value: "ABCDEFGHIJKLMNOPQRSTUVWXYZ" },
    ]);
    const r = validateSettings(parse(after), "/x/settings.toml", deps);
    assert.deepEqual(r.problems, []);
  });

  test("refusals: a missing store, a non-array, broken TOML", () => {
    const e = (fn: () => unknown, re: RegExp) =>
      assert.throws(fn, (err: unknown) => {
        assert.ok(isXksctlError(err));
        assert.match(err.message, re);
        return true;
      });
    e(() => applySettingsEdits(base(), [{ op: "append", at: { table: "external_key_stores", index: 5 }, key: "xks_key_id_set", value: "x" }]), /no \[\[external_key_stores\]\] #6 table/);
    e(() => applySettingsEdits(base(), [{ op: "append", at: store0, key: "uri_path_prefix", value: "x" }]), /uri_path_prefix is not an array/);
    e(() => applySettingsEdits("a = [1,\n", [{ op: "set", at: { table: "" }, key: "a", value: 1 }]), /settings/);
  });

  test("renderTomlValue", () => {
    assert.equal(renderTomlValue("a\u007fb\n"), '"a\\u007fb\\n"');
    assert.equal(renderTomlValue(["a", "b"]), '["a", "b"]');
    assert.equal(renderTomlValue(false), "false");
    assert.throws(() => renderTomlValue(1.5));
  });
});

describe("settings edits: arrays of inline tables and deletes (credential rotation)", () => {
  const cred = { sigv4_access_key_id: "NEWACCESSKEYID23456789", sigv4_secret_access_key: "n".repeat(44) };
  test("set an array of inline tables, then delete it: the text comes back byte for byte", () => {
    const before = base();
    const added = applySettingsEdits(before, [{ op: "set", at: store0, key: "sigv4_additional_credentials", value: [cred] }]);
    assert.deepEqual(lineDiff(before, added).removed, []);
    assert.equal(added.split("\n").length, before.split("\n").length + 3);
    assert.ok(added.includes(`\nsigv4_additional_credentials = [\n  { sigv4_access_key_id = "NEWACCESSKEYID23456789", sigv4_secret_access_key = "${"n".repeat(44)}" },\n]\n`), added);
    assert.deepEqual(parse(added).external_key_stores[0].sigv4_additional_credentials, [cred]);
    assert.equal(parse(added).external_key_stores[1].sigv4_additional_credentials, undefined);
    assert.equal(applySettingsEdits(added, [{ op: "delete", at: store0, key: "sigv4_additional_credentials" }]), before);
  });
  test("delete removes [[...sigv4_additional_credentials]] sub-tables of that store only, keeping the comments around them", () => {
    const text = `# head
[[external_key_stores]]
uri_path_prefix = "/a"
sigv4_access_key_id = "AAAAAAAAAAAAAAAAAAAAAA"
# about the extra credential
[[external_key_stores.sigv4_additional_credentials]]
sigv4_access_key_id = "BBBBBBBBBBBBBBBBBBBBBB"
sigv4_secret_access_key = "x"
# the second store
[[external_key_stores]]
uri_path_prefix = "/b"
[[external_key_stores.sigv4_additional_credentials]]
sigv4_access_key_id = "CCCCCCCCCCCCCCCCCCCCCC"
`;
    const out = applySettingsEdits(text, [{ op: "delete", at: store0, key: "sigv4_additional_credentials" }]);
    assert.deepEqual(comments(out), comments(text));
    const doc = parse(out);
    assert.equal(doc.external_key_stores[0].sigv4_additional_credentials, undefined);
    assert.deepEqual(doc.external_key_stores[1].sigv4_additional_credentials, [{ sigv4_access_key_id: "CCCCCCCCCCCCCCCCCCCCCC" }]);
    // Deleting a key that is not there changes nothing.
    assert.equal(applySettingsEdits(out, [{ op: "delete", at: store0, key: "sigv4_additional_credentials" }]), out);
    assert.equal(applySettingsEdits(out, [{ op: "delete", at: { table: "metrics" }, key: "port" }]), out);
  });
  test("a set over sub-tables that already exist is refused, not written twice", () => {
    const text = `[[external_key_stores]]\nuri_path_prefix = "/a"\n[[external_key_stores.sigv4_additional_credentials]]\nsigv4_access_key_id = "B"\n`;
    assert.throws(() => applySettingsEdits(text, [{ op: "set", at: store0, key: "sigv4_additional_credentials", value: [cred] }]), (e: unknown) => isXksctlError(e) && /the file was not changed/.test(e.message));
  });
});
