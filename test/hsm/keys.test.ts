/**
 * `keys create`, `keys list` and `keys test` with the nShield stand-ins first on PATH: generatekey
 * makes real AES-256 keys in a private SoftHSM token, and the PKCS#11 views read them back.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { defaultValidateDeps, loadSettings } from "../../src/config/load.js";
import { createExec } from "../../src/platform/exec.js";
import type { KeyRow } from "../../src/workflows/list-keys.js";
import { renderSettings } from "../../src/config/render-settings.js";
import { createStandinWorld, comments, fastTimeoutExec, runStandin, runXksctl, writeCommentedSettings, type StandinWorld } from "../helpers/operator.js";
import { addKeys, createTestToken, removeTestToken, type TestToken } from "../helpers/softhsm.js";

let token: TestToken;
let world: StandinWorld;
before(() => {
  token = createTestToken("xks-operator", "4321");
  addKeys(token, [
    { label: "aes128-key", bits: 128 },
    { label: "enc-only", decrypt: false },
    { label: "orphan-key" },
  ]);
});
after(() => removeTestToken(token));
afterEach(() => world?.cleanup());

/** A fresh NFAST_HOME and settings file; unique key ids keep tests apart on the shared token. */
function setup(env: NodeJS.ProcessEnv = {}, settingsOpts: { secondStore?: boolean; keyIds?: string[] } = {}) {
  world = createStandinWorld(token, env);
  const file = writeCommentedSettings(world.home, { tokenLabel: token.label, pin: token.pin, keyIds: ["existing-key", "aes128-key", "enc-only"], ...settingsOpts });
  const run = (argv: string[], operator = {}) => runXksctl(argv, { env: world.env, operator });
  return { w: world, file, run };
}
const uid = (p: string) => `${p}-${crypto.randomBytes(4).toString("hex")}`;

describe("keys create", () => {
  test("module protection: generatekey pkcs11 with the facts file's argv, id added to the store, comments kept", async () => {
    const { w, file, run } = setup();
    const id = uid("xks-key");
    const before = fs.readFileSync(file, "utf8");
    const r = await run(["keys", "create", id, "--protect", "module", "--config", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`✔ Created AES-256 key "${id}" \\(module protection\\)\\n  key file   ${w.home}/kmdata/local/key_pkcs11_ua[0-9a-f]{40}\\n  key store  "/example/prefix" in ${file} \\(previous version: ${file}\\.bak\\)`));
    assert.match(r.stdout, /→ Restart the running `xksctl serve` .*CKNFAST_ASSUME_SINGLE_PROCESS=1 \(the default;.*a SIGHUP reload is not enough\./);
    assert.deepEqual(w.invocations(), [
      { tool: "nfkminfo", argv: [] },
      { tool: "nfkminfo", argv: ["-l"] },
      { tool: "generatekey", argv: ["--batch", "pkcs11", "protect=module", "type=AES", "size=256", `plainname=${id}`, "recovery=yes", "nvram=no"] },
    ]);
    const after = fs.readFileSync(file, "utf8");
    assert.deepEqual(comments(after), comments(before));
    assert.equal(fs.readFileSync(`${file}.bak`, "utf8"), before);
    const { settings } = loadSettings(file, defaultValidateDeps({}));
    assert.deepEqual(settings.external_key_stores[0]!.xks_key_id_set, ["existing-key", "aes128-key", "enc-only", id]);
    const t = await run(["keys", "test", id, "--config", file, "--json"]);
    assert.equal(t.code, 0, t.stderr);
    assert.equal(JSON.parse(t.stdout).keySpec, "AES_256");
  });

  test("--json result; a cknfastrc with CKNFAST_ASSUME_SINGLE_PROCESS=0 makes SIGHUP enough", async () => {
    const { w, file, run } = setup();
    fs.writeFileSync(path.join(w.home, "cknfastrc"), "CKNFAST_ASSUME_SINGLE_PROCESS=0\n");
    const id = uid("json-key");
    const r = await run(["keys", "create", id, "--protect", "module", "--config", file, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.keyId, id);
    assert.match(j.ident, /^ua[0-9a-f]{40}$/);
    assert.deepEqual(j.store, { index: 0, prefix: "/example/prefix" });
    assert.equal(j.pickup.restartNeeded, false);
    assert.match(j.pickup.how, /^Send SIGHUP to the running `xksctl serve`/);
  });

  test("OCS protection: protect=token cardset= slot=, ident carries the card set hash", async () => {
    const { w, file, run } = setup();
    const made = runStandin(w, "createocs", ["-m", "1", "-Q", "1/1", "-N", "xksocs"]);
    const hkltu = /hkltu = ([0-9a-f]{40})/.exec(made)![1]!;
    const id = uid("ocs-key");
    const r = await run(["keys", "create", id, "--protect", "ocs", "--cardset", "xksocs", "--config", file, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).ident.slice(0, 42), `uc${hkltu}`);
    assert.deepEqual(w.invocations().at(-1)!.argv, ["--batch", "pkcs11", "protect=token", "cardset=xksocs", "slot=0", "type=AES", "size=256", `plainname=${id}`, "recovery=yes", "nvram=no"]);
    const list = JSON.parse((await run(["keys", "list", "--config", file, "--json"])).stdout);
    const row = list.keys.find((k: { label: string }) => k.label === id);
    assert.equal(row.protection, "cardset");
    assert.equal(row.usableForXks, true);
  });

  test("the chosen store of two", async () => {
    const { file, run } = setup({}, { secondStore: true });
    const id = uid("second");
    const none = await run(["keys", "create", id, "--protect", "module", "--config", file]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /has 2 key stores; say which with --store/);
    const r = await run(["keys", "create", id, "--protect", "module", "--config", file, "--store", "/second/store"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(fs.readFileSync(file, "utf8"), new RegExp(`^xks_key_id_set = \\["second-key", "${id}"\\]   # one-line array$`, "m"));
  });

  test("invalid key ids exit 1 and run no tool", async () => {
    const { w, file, run } = setup();
    for (const [id, re] of [["a/b", /contains "\/"/], [".", /dot-segment/], ["..", /dot-segment/], ["x".repeat(129), /129 characters/]] as const) {
      const r = await run(["keys", "create", id, "--protect", "module", "--config", file]);
      assert.equal(r.code, 1, id);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /→ Use 1-128 characters from A-Z a-z 0-9 - \. _ \(and not `\.` or `\.\.`\)\./);
    }
    assert.deepEqual(w.invocations(), []);
  });

  test("usage errors exit 2", async () => {
    const { w, file, run } = setup();
    const cases: [string[], RegExp][] = [
      [["k1", "--config", file], /--protect module\|ocs is required/],
      [["k1", "--protect", "softcard", "--config", file], /--protect must be module or ocs/],
      [["k1", "--protect", "ocs", "--config", file], /--protect ocs needs --cardset NAME/],
      [["k1", "--protect", "module", "--cardset", "x", "--config", file], /--cardset only applies with --protect ocs/],
      [["k1", "--protect", "ocs", "--cardset", "x", "--slot", "-1", "--config", file], /--slot must be an integer 0-255/],
      [["--protect", "module", "--config", file], /missing required argument 'key-id'/],
    ];
    for (const [argv, re] of cases) {
      const r = await run(["keys", "create", ...argv]);
      assert.equal(r.code, 2, argv.join(" "));
      assert.match(r.stderr, re);
    }
    assert.deepEqual(w.invocations(), []);
  });

  test("a label that already exists is refused before generatekey", async () => {
    const { w, file, run } = setup();
    const id = uid("dup");
    assert.equal((await run(["keys", "create", id, "--protect", "module", "--config", file])).code, 0);
    const r = await run(["keys", "create", id, "--protect", "module", "--config", file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`✖ A key named "${id}" already exists in the Security World \\(key_pkcs11_ua[0-9a-f]{40}, module protection\\)\\.\\n→ Choose another key id`));
    assert.equal(w.invocations().filter((i) => i.tool === "generatekey").length, 1);
  });

  const failures: [string, NodeJS.ProcessEnv, string[], RegExp, RegExp][] = [
    ["hardserver down", { NFAST_STANDIN_FAIL: "hardserver-down" }, [], /✖ nfkminfo: the nShield hardserver is not running/, /→ Start the hardserver/],
    ["world not usable", { NFAST_STANDIN_FAIL: "world-unusable" }, [], /✖ The Security World is not usable \(state 0x37000001 Initialised !Usable Recovery\)\./, /→ Load or create the Security World/],
    ["module not usable", { NFAST_STANDIN_FAIL: "module-unusable" }, [], /✖ Module #1 is not usable \(state 0x1 PreInitMode\)\./, /→ Check the module is in operational mode/],
    ["FIPS world without a card", { NFAST_STANDIN_WORLD_MODE: "fips1402level3" }, [], /✖ generatekey: the Security World \(FIPS 140 Level 3\) asks for an Administrator or Operator Card to authorise this/, /→ Insert an Administrator Card or an Operator Card/],
    ["bad parameter", { NFAST_STANDIN_REJECT_PARAM: "recovery" }, [], /✖ generatekey: the value of parameter `recovery` was rejected \("ERROR: recovery: invalid option"\)/, /→ Fix the parameter named above/],
    ["OCS card missing", { NFAST_STANDIN_CARD: "missing" }, ["--protect", "ocs", "--cardset", "xksocs"], /✖ generatekey: a card of the card set is missing/, /→ Insert a card of the right card set/],
    ["OCS wrong passphrase", { NFAST_STANDIN_CARD: "wrong-passphrase" }, ["--protect", "ocs", "--cardset", "xksocs"], /✖ generatekey: the card passphrase was not accepted/, /→ Insert a card of the right card set in the slot and retype the passphrase\./],
    ["unknown card set", {}, ["--protect", "ocs", "--cardset", "nosuch"], /✖ generatekey: the card set named does not exist/, /→ List card sets with `xksctl hsm status`/],
    ["output no parser knows", { NFAST_STANDIN_GARBAGE: "generatekey" }, [], /✖ Unexpected output from generatekey: exit 0 without `Key successfully generated\.`: "Reticulating splines: 42"/, /→ xksctl did not understand/],
  ];
  for (const [name, env, extra, message, remedy] of failures) {
    test(`${name}: exit 1 with the fix, settings unchanged`, async () => {
      const { w, file, run } = setup(env);
      runStandin(w, "createocs", ["-m", "1", "-Q", "1/1", "-N", "xksocs"]);
      const before = fs.readFileSync(file, "utf8");
      const r = await run(["keys", "create", uid("fail"), ...(extra.length ? extra : ["--protect", "module"]), "--config", file]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, remedy);
      assert.equal(fs.readFileSync(file, "utf8"), before);
      assert.ok(!fs.existsSync(`${file}.bak`));
    });
  }

  test("a FIPS world with a card present works, with a warning", async () => {
    const { file, run } = setup({ NFAST_STANDIN_WORLD_MODE: "fips1402level3", NFAST_STANDIN_CARD: "present" });
    const r = await run(["keys", "create", uid("fips"), "--protect", "module", "--config", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: world mode fips1402level3: generatekey asks for an Administrator or Operator Card/);
  });

  test("generatekey hanging is stopped: XKS_TOOL_TIMEOUT", async () => {
    const { w, file, run } = setup({ NFAST_STANDIN_HANG: "generatekey" });
    const r = await run(["keys", "create", uid("hang"), "--protect", "module", "--config", file], { exec: fastTimeoutExec(createExec(w.env, { killGraceMs: 100 }), 1500) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✖ generatekey did not finish within 2 s and was stopped: .*generatekey --batch pkcs11/);
  });

  test("nShield tools not installed: XKS_TOOL_MISSING", async () => {
    const { w, file } = setup();
    const r = await runXksctl(["keys", "create", "k", "--protect", "module", "--config", file], { env: { PATH: "/usr/bin:/bin", NFAST_HOME: w.home } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✖ The nShield tool `nfkminfo` was not found/);
  });

  test("a settings edit that cannot be made after generation says the key exists and what to add", async () => {
    const { file, run } = setup();
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/xks_key_id_set = \[[\s\S]*?\n\]/, 'xks_key_id_set = "not-an-array"'));
    const id = uid("orphaned");
    const r = await run(["keys", "create", id, "--protect", "module", "--config", file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`✖ The key "${id}" was created \\(.*key_pkcs11_ua[0-9a-f]{40}\\) but the settings were not updated: .*xks_key_id_set is not an array`));
    assert.match(r.stderr, new RegExp(`→ Add "${id}" to xks_key_id_set of the key store "/example/prefix" in ${file} by hand\\.`));
  });
});

describe("keys list", () => {
  test("merges nfkminfo -l, the token and the settings", async () => {
    const { file, run } = setup();
    const id = uid("listed");
    assert.equal((await run(["keys", "create", id, "--protect", "module", "--config", file])).code, 0);
    const r = await run(["keys", "list", "--config", file, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout).keys as KeyRow[];
    const by = (l: string) => rows.find((x) => x.label === l)!;
    const mine = by(id);
    assert.match(mine.ident!, /^ua[0-9a-f]{40}$/);
    assert.ok(mine.keyUsage.includes("ENCRYPT") && mine.keyUsage.includes("DECRYPT"));
    assert.deepEqual({ ...mine, ident: null, keyUsage: [] }, { label: id, protection: "module", ident: null, onToken: true, keySpec: "AES_256", aes256: true, keyUsage: [], stores: ["/example/prefix"], usableForXks: true, reason: null });
    assert.deepEqual([by("existing-key").onToken, by("existing-key").reason], [false, "not on the token"]);
    assert.equal(by("aes128-key").reason, "the key is AES_128; XKS needs AES_256");
    assert.equal(by("enc-only").reason, "the key does not allow both ENCRYPT and DECRYPT");
    assert.deepEqual([by("orphan-key").protection, by("orphan-key").reason], [null, "not in any store's xks_key_id_set"]);
    const text = await run(["keys", "list", "--config", file]);
    assert.match(text.stdout, /^LABEL +PROTECTION +ON TOKEN +TYPE +STORES +XKS$/m);
    assert.match(text.stdout, new RegExp(`^${id} +module +yes +AES_256 +"/example/prefix" +yes$`, "m"));
    assert.match(text.stdout, /^existing-key +- +no +- +"\/example\/prefix" +no: not on the token$/m);
  });

  test("without the nShield tools it still lists the PKCS#11 and settings views, with a warning", async () => {
    const { w, file } = setup();
    const r = await runXksctl(["keys", "list", "--config", file], { env: { PATH: "/usr/bin:/bin", NFAST_HOME: w.home } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: nfkminfo not found: protection is not shown/);
    assert.match(r.stdout, /^orphan-key +- +yes +AES_256 +- +no: not in any store's xks_key_id_set$/m);
  });

  test("a wrong PIN in the settings: exit 1 with the PKCS#11 layer's message", async () => {
    const { file, run } = setup();
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(`user_pin = "${token.pin}"`, 'user_pin = "0000"'));
    const r = await run(["keys", "list", "--config", file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /PIN/);
  });
});

describe("keys test", () => {
  test("round trip ok for an AES-256 key; text output", async () => {
    const { file, run } = setup();
    const r = await run(["keys", "test", "orphan-key", "--config", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^✔ orphan-key: AES-GCM round trip ok \(AES_256, ENCRYPT DECRYPT.*; encrypt \d+ ms, decrypt \d+ ms\)$/m);
    assert.match(r.stdout, /warning: no key store lists it \(xks_key_id_set\); KMS cannot use it yet/);
  });

  test("an AES-128 key round-trips but is not usable for XKS: exit 1", async () => {
    const { file, run } = setup();
    const r = await run(["keys", "test", "aes128-key", "--config", file, "--json"]);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.stdout);
    assert.equal(j.roundTrip, "ok");
    assert.equal(j.usableForXks, false);
    assert.deepEqual(j.problems, ["the key is AES_128; XKS needs AES_256"]);
  });

  test("an unknown key, a key that cannot decrypt, an invalid id", async () => {
    const { file, run } = setup();
    const unknown = await run(["keys", "test", "no-such-key", "--config", file]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /✖ No AES key labelled "no-such-key" on the token\.\n→ List keys with `xksctl keys list`/);
    const encOnly = await run(["keys", "test", "enc-only", "--config", file]);
    assert.equal(encOnly.code, 1);
    assert.match(encOnly.stderr, /✖ AES-GCM decrypt with key "enc-only" failed: /);
    const bad = await run(["keys", "test", "..", "--config", file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /dot-segment/);
  });
});

describe("on the shipped settings template (templates/settings.toml)", () => {
  test("keys create twice, then creds generate: comments kept, loadSettings accepts the result", async () => {
    world = createStandinWorld(token);
    const file = path.join(world.home, "settings.toml");
    const text = renderSettings({
      ip: "127.0.0.1", port: 8443, port_http_ping: 8080, region: "us-east-1", is_tls_enabled: false, tls_cert_pem: "", tls_key_pem: "",
      uri_path_prefix: "/bank/xks", sigv4_access_key_id: "", sigv4_secret_access_key: "", xks_key_id_set: [],
      session_pool_max_size: 2, user_pin: token.pin, PKCS11_HSM_MODULE: "/usr/lib/softhsm/libsofthsm2.so", token_label: token.label,
      can_generate_iv: false, is_zero_iv_required: false,
    });
    fs.writeFileSync(file, text, { mode: 0o600 });
    const ids = [uid("tpl-a"), uid("tpl-b")];
    for (const id of ids) {
      const r = await runXksctl(["keys", "create", id, "--protect", "module", "--config", file], { env: world.env });
      assert.equal(r.code, 0, r.stderr);
    }
    const c = await runXksctl(["creds", "generate", "--config", file, "--json"], { env: world.env });
    assert.equal(c.code, 0, c.stderr);
    const after = fs.readFileSync(file, "utf8");
    assert.deepEqual(comments(after), comments(text));
    assert.equal(after.split("\n").length, text.split("\n").length, "no line added or removed");
    const { settings } = loadSettings(file, defaultValidateDeps({}));
    assert.deepEqual(settings.external_key_stores[0]!.xks_key_id_set, ids);
    assert.equal(settings.external_key_stores[0]!.sigv4_access_key_id, JSON.parse(c.stdout).accessKeyId);
    const t = await runXksctl(["keys", "test", ids[1]!, "--config", file], { env: world.env });
    assert.equal(t.code, 0, t.stderr);
  });
});
