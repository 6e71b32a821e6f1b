/** Group `settings`: each check passes on a good file and fails (or warns) for its main reason, with the fix. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { ERROR_CATALOGUE } from "../../../src/errors.js";
import { maxConcurrentHsmCalls } from "../../../src/hsm/types.js";
import { CREDS } from "../../helpers/settings.js";
import { fakeDeps, result, settingsFile, tmpDir } from "./fixture.js";

const groups = ["settings" as const];

describe("settings.file", () => {
  test("pass: found by --config", async () => {
    const file = settingsFile(tmpDir());
    const r = await result(fakeDeps(), { config: file, groups }, "settings.file");
    assert.deepEqual([r.status, r.message], ["pass", `${file} (found by --config)`]);
  });

  test("fail: no file anywhere, with the catalogue's fix; everything after is skipped, not failed", async () => {
    const dir = tmpDir();
    const deps = fakeDeps({ cwd: dir });
    const r = await result(deps, { groups }, "settings.file");
    assert.equal(r.status, "fail");
    assert.match(r.message, /No settings file: no --config, XKS_PROXY_SETTINGS_TOML is unset/);
    assert.equal(r.fix, ERROR_CATALOGUE.XKS_CONFIG_NOT_FOUND.remedy);
    const valid = await result(deps, { groups }, "settings.valid");
    assert.deepEqual([valid.status, valid.message], ["skip", "needs: settings.file"]);
  });

  test("fail: not TOML, naming line and column", async () => {
    const file = path.join(tmpDir(), "s.toml");
    fs.writeFileSync(file, "[server\nip = 1\n", { mode: 0o600 });
    const r = await result(fakeDeps(), { config: file, groups }, "settings.file");
    assert.equal(r.status, "fail");
    assert.match(r.message, new RegExp(`${file}:1:\\d+`));
    assert.equal(r.fix, ERROR_CATALOGUE.XKS_CONFIG_PARSE.remedy);
  });
});

describe("settings.valid", () => {
  test("pass", async () => {
    const r = await result(fakeDeps(), { config: settingsFile(tmpDir()), groups }, "settings.valid");
    assert.equal(r.status, "pass");
  });

  test("fail: the problems of `config validate`, first one named", async () => {
    const file = settingsFile(tmpDir(), { server: { port: 70000 }, limits: { max_plaintext_in_base64: "big" } });
    const r = await result(fakeDeps(), { config: file, groups }, "settings.valid");
    assert.equal(r.status, "fail");
    assert.match(r.message, /^2 problems: \[server\]\.port: expected an integer 0-65535, got 70000 \(integer\); and 1 more$/);
    assert.equal(r.fix, `Fix each key \`xksctl config validate --config ${file}\` lists, in ${file}.`);
  });

  test("warn: an unknown key, as `config validate` warns", async () => {
    const file = settingsFile(tmpDir(), { server: { prot: 1 } });
    const r = await result(fakeDeps(), { config: file, groups }, "settings.valid");
    assert.equal(r.status, "warn");
    assert.match(r.message, /\[server\]\.prot: unknown key, ignored/);
  });
});

describe("settings.permissions", () => {
  test("pass: 0600 and owned by the user running doctor", async () => {
    const r = await result(fakeDeps(), { config: settingsFile(tmpDir()), groups }, "settings.permissions");
    assert.equal(r.status, "pass");
    assert.match(r.message, /1 file with secrets, each 0600 and owned by me \(the user running doctor/);
  });

  test("fail: the settings file with the PIN inline is world-readable", async () => {
    const file = settingsFile(tmpDir());
    fs.chmodSync(file, 0o644);
    const r = await result(fakeDeps(), { config: file, groups }, "settings.permissions");
    assert.equal(r.status, "fail");
    assert.match(r.message, new RegExp(`${file} is mode 0644 \\(world-readable\\)`));
    assert.equal(r.fix, `Run: chmod 600 ${file}`);
  });

  test("fail: a secret file owned by someone else than the service user", async () => {
    const dir = tmpDir();
    const secret = path.join(dir, "secret");
    fs.writeFileSync(secret, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\n", { mode: 0o600 });
    const file = settingsFile(dir, { external_key_stores: [{ uri_path_prefix: "", sigv4_access_key_id: "AKIAXKSCTLTESTMAINKEY2", sigv4_secret_access_key_file: secret, xks_key_id_set: ["foo"] }] });
    const r = await result(fakeDeps(), { config: file, groups, serviceUser: "xksctl" }, "settings.permissions");
    assert.equal(r.status, "fail");
    assert.match(r.message, new RegExp(`${secret} is owned by me, not xksctl`));
    assert.equal(r.fix, `Run: chown xksctl ${file} ${secret}`);
  });

  test("fail: the KMS console file next to the settings (it holds the secret) is group-readable", async () => {
    const dir = tmpDir();
    const file = settingsFile(dir);
    const consoleFile = path.join(dir, "kms-proxy-config.json");
    fs.writeFileSync(consoleFile, "{}", { mode: 0o640 });
    fs.chmodSync(consoleFile, 0o640);
    const r = await result(fakeDeps(), { config: file, groups }, "settings.permissions");
    assert.equal(r.status, "fail");
    assert.match(r.message, new RegExp(`${consoleFile} is mode 0640 \\(group-readable\\)`));
    assert.equal(r.fix, `Run: chmod 600 ${consoleFile}`);
  });

  test("fail: the service user does not exist", async () => {
    const r = await result(fakeDeps(), { config: settingsFile(tmpDir()), groups, serviceUser: "nobody-here" }, "settings.permissions");
    assert.equal(r.status, "fail");
    assert.match(r.message, /the service user nobody-here \(--service-user\) does not exist/);
  });

  test("the service user comes from User= of the unit next to the settings when that account exists", async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "xksctl.service"), "[Service]\nUser=xksctl\n");
    const r = await result(fakeDeps(), { config: settingsFile(dir), groups }, "settings.permissions");
    assert.equal(r.status, "fail");
    assert.match(r.message, /not xksctl \(service user xksctl: User= in .*xksctl\.service\)/);
  });
});

describe("settings.paths", () => {
  test("pass: absolute paths that exist", async () => {
    const r = await result(fakeDeps(), { config: settingsFile(tmpDir()), groups }, "settings.paths");
    assert.deepEqual([r.status, r.message], ["pass", "1 path, absolute and present"]);
  });

  test("pass: a relative *_file is read from the settings file's folder, whatever the working directory", async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "pin"), "1234\n", { mode: 0o600 });
    const file = settingsFile(dir, { pkcs11: { user_pin: undefined, user_pin_file: "pin" } });
    const r = await result(fakeDeps({ cwd: tmpDir() }), { config: file, groups }, "settings.paths");
    assert.equal(r.status, "pass", r.message);
  });

  test("fail: a relative *_file missing next to the settings file (one in the working directory does not count)", async () => {
    const dir = tmpDir();
    const elsewhere = tmpDir();
    fs.writeFileSync(path.join(elsewhere, "pin"), "1234\n", { mode: 0o600 });
    const file = settingsFile(dir, { pkcs11: { user_pin: undefined, user_pin_file: "pin" } });
    const r = await result(fakeDeps({ cwd: elsewhere }), { config: file, groups }, "settings.paths");
    assert.equal(r.status, "fail");
    assert.match(r.message, new RegExp(`\\[pkcs11\\]\\.user_pin_file = "pin" does not exist \\(${dir}/pin\\)`));
    assert.match(r.fix!, /a relative \*_file or softhsm2_conf path is read from the settings file's folder/);
  });

  test("fail: an additional credential's sigv4_secret_access_key_file that does not exist", async () => {
    const dir = tmpDir();
    const stores = [{ uri_path_prefix: "", sigv4_access_key_id: CREDS.main.id, sigv4_secret_access_key: CREDS.main.secret, xks_key_id_set: ["foo"], sigv4_additional_credentials: [{ sigv4_access_key_id: CREDS.rotated.id, sigv4_secret_access_key_file: "rotated.secret" }] }];
    const r = await result(fakeDeps(), { config: settingsFile(dir, { external_key_stores: stores }), groups }, "settings.paths");
    assert.equal(r.status, "fail");
    assert.match(r.message, new RegExp(`external_key_stores\\[0\\]\\.sigv4_additional_credentials\\[0\\]\\.sigv4_secret_access_key_file = "rotated\\.secret" does not exist \\(${dir}/rotated\\.secret\\)`));
  });

  test("warn: a relative library path works only from the working directory (as in the reference)", async () => {
    const cwd = tmpDir();
    fs.mkdirSync(path.join(cwd, "lib"));
    fs.writeFileSync(path.join(cwd, "lib", "libcknfast.so"), "");
    const file = settingsFile(tmpDir(), { pkcs11: { PKCS11_HSM_MODULE: "lib/libcknfast.so" } });
    const r = await result(fakeDeps({ cwd }), { config: file, groups }, "settings.paths");
    assert.equal(r.status, "warn", r.message);
    assert.match(r.message, /\[pkcs11\]\.PKCS11_HSM_MODULE = "lib\/libcknfast\.so" \(.*\/lib\/libcknfast\.so\); the proxy finds them only when started there/);
  });

  test("fail: an absolute path that does not exist", async () => {
    const file = settingsFile(tmpDir(), { pkcs11: { PKCS11_HSM_MODULE: "/nowhere/libcknfast.so" } });
    const r = await result(fakeDeps(), { config: file, groups }, "settings.paths");
    assert.equal(r.status, "fail");
    assert.match(r.message, /\[pkcs11\]\.PKCS11_HSM_MODULE = "\/nowhere\/libcknfast.so" does not exist/);
    assert.match(r.fix!, /correct \[pkcs11\]\.PKCS11_HSM_MODULE in/);
  });
});

describe("settings.key-ids", () => {
  test("pass", async () => {
    const r = await result(fakeDeps(), { config: settingsFile(tmpDir()), groups }, "settings.key-ids");
    assert.deepEqual([r.status, r.message], ["pass", "7 key ids, none repeated"]);
  });

  test("fail: a key id twice in one store", async () => {
    const file = settingsFile(tmpDir(), { external_key_stores: [{ uri_path_prefix: "", sigv4_access_key_id: "AKIAXKSCTLTESTMAINKEY2", sigv4_secret_access_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", xks_key_id_set: ["a", "b", "a"] }] });
    const r = await result(fakeDeps(), { config: file, groups }, "settings.key-ids");
    assert.deepEqual([r.status, r.message, r.fix], ["fail", '"a" appears twice in external_key_stores[0].xks_key_id_set', `Remove the repeated key ids from xks_key_id_set in ${file}.`]);
  });

  test("warn: a store without key ids", async () => {
    const file = settingsFile(tmpDir(), { external_key_stores: [{ uri_path_prefix: "/p", sigv4_access_key_id: "AKIAXKSCTLTESTMAINKEY2", sigv4_secret_access_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", xks_key_id_set: [] }] });
    const r = await result(fakeDeps(), { config: file, groups }, "settings.key-ids");
    assert.equal(r.status, "warn");
    assert.match(r.message, /external_key_stores\[0\] \("\/p"\) lists no key id/);
  });
});

describe("settings.credentials", () => {
  test("pass", async () => {
    const r = await result(fakeDeps(), { config: settingsFile(tmpDir()), groups }, "settings.credentials");
    assert.deepEqual([r.status, r.message], ["pass", "3 credentials in KMS's formats, none a sample value"]);
  });

  test("fail: the reference proxy's sample credential", async () => {
    const file = settingsFile(tmpDir(), { external_key_stores: [{ uri_path_prefix: "", sigv4_access_key_id: "BETWEEN2TENAND3TENCHARACTERS", sigv4_secret_access_key: "PleaseReplaceThisWithSomeSecretOfLength43To64", xks_key_id_set: ["foo"] }] });
    const r = await result(fakeDeps(), { config: file, groups }, "settings.credentials");
    assert.equal(r.status, "fail");
    assert.match(r.message, /the reference sample's placeholder value in external_key_stores\[0\]\.sigv4_access_key_id, external_key_stores\[0\]\.sigv4_secret_access_key/);
    assert.equal(r.fix, `Generate a credential with \`xksctl creds generate --config ${file}\` (and set the same in KMS).`);
  });

  test("fail: SigV4 verification switched off", async () => {
    const file = settingsFile(tmpDir(), { security: { is_sigv4_auth_enabled: false } });
    const r = await result(fakeDeps(), { config: file, groups }, "settings.credentials");
    assert.deepEqual([r.status, r.fix], ["fail", `Set is_sigv4_auth_enabled = true in ${file}.`]);
    const valid = await result(fakeDeps(), { config: file, groups }, "settings.valid");
    assert.equal(valid.status, "pass", "reported once, by settings.credentials");
  });
});

describe("settings.pool", () => {
  test("pass", async () => {
    const r = await result(fakeDeps(), { config: settingsFile(tmpDir()), groups }, "settings.pool");
    assert.equal(r.status, "pass");
    assert.match(r.message, /session_pool_max_size = 8 \(the process runs up to \d+ PKCS#11 calls at once\)/);
  });

  test("warn: more sessions than the process can use at once", async () => {
    const max = maxConcurrentHsmCalls();
    const file = settingsFile(tmpDir(), { pkcs11: { session_pool_max_size: max + 1 } });
    const r = await result(fakeDeps(), { config: file, groups }, "settings.pool");
    assert.equal(r.status, "warn");
    assert.equal(r.fix, `Set [pkcs11] session_pool_max_size = ${max} (or less) in ${file}.`);
  });
});
