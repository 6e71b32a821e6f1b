/** `xksctl creds rotate` / `creds retire`: the settings edits, files and modes, refusals. */
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
before(() => (dir = tempDir("xksctl-rotate-")));

const OLD = { id: "OLDCREDENTIALKEYID2345", secret: "OldSecretOldSecretOldSecretOldSecretOldSecret" };
const mode = (f: string) => fs.statSync(f).mode & 0o777;
/** A fresh folder with a commented settings file (the old credential inline unless `secretFile`). */
function setup(o: { secretFile?: string; secondStore?: boolean } = {}): { sub: string; file: string } {
  const sub = fs.mkdtempSync(path.join(dir, "s-"));
  const file = writeCommentedSettings(sub, { tokenLabel: "t", pin: "1234", accessKeyId: OLD.id, secret: OLD.secret, ...o });
  return { sub, file };
}
const credentialsOf = (file: string, cwd = process.cwd()) => loadSettings(file, defaultValidateDeps({}), cwd).settings.external_key_stores[0]!.credentials;

describe("creds rotate", () => {
  test("inline: a second credential next to the first, shown once, the console and CLI files 0600, the exact AWS command", async () => {
    const { sub, file } = setup();
    fs.chmodSync(file, 0o644);
    const before = fs.readFileSync(file, "utf8");
    const r = await runXksctl(["creds", "rotate", "--config", file, "--key-store-id", "cks-1234567890abcdef0"]);
    assert.equal(r.code, 0, r.stderr);
    const id = /AccessKeyId {10}(\S+)/.exec(r.stdout)![1]!;
    const secret = /RawSecretAccessKey {3}(\S+)/.exec(r.stdout)![1]!;
    assert.match(id, ACCESS_KEY_ID_RE);
    assert.match(secret, SECRET_RE);
    assert.equal(r.stdout.split(secret).length - 1, 1, "the secret is printed once");
    assert.ok(!r.stdout.includes(OLD.secret));
    // Both accepted, the current one first; comments kept; 0600 whatever the mode was; the backup too.
    assert.deepEqual(credentialsOf(file), [{ accessKeyId: OLD.id, secretAccessKey: OLD.secret }, { accessKeyId: id, secretAccessKey: secret }]);
    assert.deepEqual(comments(fs.readFileSync(file, "utf8")), comments(before));
    assert.equal(mode(file), 0o600);
    assert.equal(fs.readFileSync(`${file}.bak`, "utf8"), before);
    assert.equal(mode(`${file}.bak`), 0o600);
    const consoleFile = path.join(sub, "kms-proxy-config.json");
    const cliFile = path.join(sub, "kms-xks-credential.json");
    assert.deepEqual(JSON.parse(fs.readFileSync(consoleFile, "utf8")), { XksProxyUriPath: "/example/prefix/kms/xks/v1", XksProxyAuthenticationCredential: { AccessKeyId: id, RawSecretAccessKey: secret } });
    assert.deepEqual(JSON.parse(fs.readFileSync(cliFile, "utf8")), { AccessKeyId: id, RawSecretAccessKey: secret });
    assert.equal(mode(consoleFile), 0o600);
    assert.equal(mode(cliFile), 0o600);
    assert.ok(
      r.stdout.includes(`aws kms update-custom-key-store \\\n         --region us-east-1 \\\n         --custom-key-store-id cks-1234567890abcdef0 \\\n         --xks-proxy-authentication-credential file://${cliFile}\n`),
      r.stdout,
    );
    assert.match(r.stdout, /1\. Make the running proxy accept both credentials: systemctl reload xksctl {3}\(or: kill -HUP <pid of xksctl serve>\)/);
    assert.ok(r.stdout.includes(`xksctl creds retire --access-key-id ${OLD.id} --config ${file} --store /example/prefix`));

    // A second rotation before the first is finished is refused, and changes nothing.
    const text = fs.readFileSync(file, "utf8");
    const again = await runXksctl(["creds", "rotate", "--config", file]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`is already rotating: it accepts ${OLD.id} and ${id}\\.\\n→ Finish that rotation first: .*creds retire --access-key-id ${OLD.id}`));
    assert.equal(fs.readFileSync(file, "utf8"), text);

    // Retire the old one: the new one becomes the store's credential.
    const ret = await runXksctl(["creds", "retire", "--access-key-id", OLD.id, "--config", file]);
    assert.equal(ret.code, 0, ret.stderr);
    assert.match(ret.stdout, new RegExp(`✔ Retired ${OLD.id} from key store "/example/prefix"; it accepts ${id} `));
    assert.match(ret.stdout, /→ Make the running proxy drop it: systemctl reload xksctl/);
    assert.deepEqual(credentialsOf(file), [{ accessKeyId: id, secretAccessKey: secret }]);
    const after = fs.readFileSync(file, "utf8");
    assert.ok(!after.includes(OLD.secret) && !after.includes("sigv4_additional_credentials"), after);
    assert.deepEqual(comments(after), comments(before));
    assert.equal(mode(`${file}.bak`), 0o600, "the backup holding the retired secret is 0600");

    // The last credential cannot be retired; an unknown id is a usage error.
    const last = await runXksctl(["creds", "retire", "--access-key-id", id, "--config", file]);
    assert.equal(last.code, 1);
    assert.match(last.stderr, /is the only credential of key store "\/example\/prefix"; retiring it would lock KMS out\.\n→ Run `xksctl creds rotate` first/);
    const unknown = await runXksctl(["creds", "retire", "--access-key-id", "NOSUCHACCESSKEYID23456", "--config", file]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, new RegExp(`has no credential with access key id "NOSUCHACCESSKEYID23456" \\(it accepts ${id}\\)`));
  });

  test("retiring the new credential instead cancels the rotation", async () => {
    const { file } = setup();
    const r = await runXksctl(["creds", "rotate", "--config", file, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.currentAccessKeyId, OLD.id);
    const ret = await runXksctl(["creds", "retire", "--access-key-id", j.accessKeyId, "--config", file, "--json"]);
    assert.equal(ret.code, 0, ret.stderr);
    assert.deepEqual(JSON.parse(ret.stdout).remaining, [OLD.id]);
    assert.deepEqual(credentialsOf(file), [{ accessKeyId: OLD.id, secretAccessKey: OLD.secret }]);
  });

  test("a store keeping its secret in a relative file: the new secret in a 0600 file next to it, found from any working directory", async () => {
    const sub = fs.mkdtempSync(path.join(dir, "f-"));
    fs.mkdirSync(path.join(sub, "secrets"));
    fs.writeFileSync(path.join(sub, "secrets/sigv4"), `${OLD.secret}\n`, { mode: 0o600 });
    const file = writeCommentedSettings(sub, { tokenLabel: "t", pin: "", accessKeyId: OLD.id, secretFile: "secrets/sigv4" });
    fs.chmodSync(file, 0o640);
    const elsewhere = fs.mkdtempSync(path.join(dir, "cwd-"));
    const r = await runXksctl(["creds", "rotate", "--config", file, "--json"], { cwd: elsewhere });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const newFile = path.join(sub, `secrets/sigv4.${j.accessKeyId}`);
    assert.equal(j.secretFile, newFile);
    assert.equal(fs.readFileSync(newFile, "utf8"), `${j.secretAccessKey}\n`);
    assert.equal(mode(newFile), 0o600);
    assert.ok(!fs.readFileSync(file, "utf8").includes(j.secretAccessKey), "the settings name the file, not the secret");
    assert.equal(mode(file), 0o640, "a settings file without secrets keeps its mode");
    assert.deepEqual(fs.readdirSync(elsewhere), []);
    assert.deepEqual(credentialsOf(file, elsewhere), [{ accessKeyId: OLD.id, secretAccessKey: OLD.secret }, { accessKeyId: j.accessKeyId, secretAccessKey: j.secretAccessKey }]);
    // Retire the old one: the store now points at the new file; the old file is named for deletion.
    const ret = await runXksctl(["creds", "retire", "--access-key-id", OLD.id, "--config", file], { cwd: elsewhere });
    assert.equal(ret.code, 0, ret.stderr);
    assert.ok(ret.stdout.includes(`${path.join(sub, "secrets/sigv4")} still holds the retired secret and is no longer used: delete it`), ret.stdout);
    assert.deepEqual(credentialsOf(file, elsewhere), [{ accessKeyId: j.accessKeyId, secretAccessKey: j.secretAccessKey }]);
    assert.match(fs.readFileSync(file, "utf8"), new RegExp(`sigv4_secret_access_key_file = "secrets/sigv4\\.${j.accessKeyId}"`));
    // The next rotation names its file after its own id, not a chain of ids.
    const r2 = await runXksctl(["creds", "rotate", "--config", file, "--json"], { cwd: elsewhere });
    assert.equal(JSON.parse(r2.stdout).secretFile, path.join(sub, `secrets/sigv4.${JSON.parse(r2.stdout).accessKeyId}`));
  });

  test("refusals: a secret from the environment or a systemd credential, no credential yet, --store among two", async () => {
    const { file } = setup();
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/sigv4_secret_access_key = .*/, 'sigv4_secret_access_key_env = "XKS_SECRET"'));
    const env = await runXksctl(["creds", "rotate", "--config", file]);
    assert.equal(env.code, 1);
    assert.match(env.stderr, /reads its secret from the environment variable XKS_SECRET, which xksctl cannot change/);
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/sigv4_secret_access_key_env = .*/, 'sigv4_secret_access_key_file = "$CREDENTIALS_DIRECTORY/sigv4"'));
    const cred = await runXksctl(["creds", "rotate", "--config", file]);
    assert.equal(cred.code, 1);
    assert.match(cred.stderr, /reads its secret from the systemd credential \$CREDENTIALS_DIRECTORY\/sigv4, a read-only copy made when the service starts/);
    const fresh = writeCommentedSettings(dir, { tokenLabel: "t", pin: "1" }, `p-${crypto.randomUUID()}.toml`);
    const none = await runXksctl(["creds", "rotate", "--config", fresh]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /has no credential to rotate .*\n→ Run `xksctl creds generate` for the first credential/);
    const two = setup({ secondStore: true });
    const which = await runXksctl(["creds", "rotate", "--config", two.file]);
    assert.equal(which.code, 1);
    assert.match(which.stderr, /has 2 key stores; say which with --store/);
    const second = await runXksctl(["creds", "rotate", "--config", two.file, "--store", "/second/store", "--json"]);
    assert.equal(second.code, 0, second.stderr);
    const stores = loadSettings(two.file, defaultValidateDeps({})).settings.external_key_stores;
    assert.equal(stores[0]!.credentials.length, 1);
    assert.deepEqual(stores[1]!.credentials.map((c) => c.accessKeyId), ["SECONDSTOREACCESSKEY23", JSON.parse(second.stdout).accessKeyId]);
  });
});
