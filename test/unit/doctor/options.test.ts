/** `xksctl doctor` flags: every wrong combination is a usage error (exit 2) naming the flag. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { isXksctlError } from "../../../src/errors.js";
import { doctorOptions } from "../../../src/workflows/doctor/options.js";
import { tmpDir } from "./fixture.js";

const dir = tmpDir();
const secretFile = path.join(dir, "secret");
fs.writeFileSync(secretFile, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\n", { mode: 0o600 });
const url = { url: "https://xks.example.com/bank/xks", accessKeyId: "AKIAXKSCTLTESTMAINKEY2", secretFile };

function usage(flags: Parameters<typeof doctorOptions>[0], re: RegExp): void {
  assert.throws(
    () => doctorOptions(flags, dir),
    (e: unknown) => isXksctlError(e) && e.code === "XKS_USAGE" && e.exitCode === 2 && re.test(e.message),
  );
}

test("groups: one or more, spaces, commas or repeats; an unknown one lists the groups", () => {
  assert.deepEqual(doctorOptions({ group: ["pkcs11,tls", "live"] }, dir).groups, ["pkcs11", "tls", "live"]);
  assert.equal(doctorOptions({ group: ["pkcs11"] }, dir).explicitGroups, true);
  assert.equal(doctorOptions({}, dir).groups, undefined);
  usage({ group: ["pkcs11", "tsl"] }, /--group: unknown "tsl"; the groups are settings, nshield, pkcs11, tls, endpoint, network, live/);
});

test("--url reads the secret file and keeps the prefix; --region and --key-id go with it", () => {
  const o = doctorOptions({ ...url, keyId: ["k1", "k2"], region: "eu-west-1" }, dir);
  assert.deepEqual(o.groups, ["live"]);
  assert.deepEqual(o.url, { url: "https://xks.example.com/bank/xks", accessKeyId: url.accessKeyId, secret: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", region: "eu-west-1", keyIds: ["k1", "k2"] });
  assert.equal(doctorOptions(url, dir).url!.region, "us-east-1");
});

test("--url mistakes are usage errors", () => {
  usage({ ...url, url: "http://xks.example.com" }, /must start with https:\/\//);
  usage({ ...url, url: "https://xks.example.com/p/kms/xks/v1" }, /give the prefix only/);
  usage({ ...url, url: "https://xks.example.com/bad prefix" }, /not a valid uri_path_prefix/);
  usage({ ...url, accessKeyId: undefined }, /--url needs --access-key-id/);
  usage({ ...url, accessKeyId: "lowercase-not-kms" }, /--access-key-id must be 20-30 characters of A-Z and 2-7/);
  usage({ ...url, secretFile: undefined }, /--url needs --secret-file/);
  usage({ ...url, config: "settings.toml" }, /drop --config/);
  usage({ ...url, group: ["pkcs11"] }, /--url runs the live group only/);
  usage({ ...url, region: "Mars" }, /not an AWS region name/);
  const short = path.join(dir, "short");
  fs.writeFileSync(short, "tooshort");
  usage({ ...url, secretFile: short }, /the secret must be 43-64 characters/);
});

test("flags of --url without --url are usage errors", () => {
  usage({ accessKeyId: "AKIAXKSCTLTESTMAINKEY2" }, /--access-key-id goes with --url/);
  usage({ keyId: ["k"], region: "us-east-1" }, /--region, --key-id go with --url/);
});

test("an unreadable --secret-file is XKS_SECRET_SOURCE (exit 1), not a usage error", () => {
  assert.throws(
    () => doctorOptions({ ...url, secretFile: path.join(dir, "absent") }, dir),
    (e: unknown) => isXksctlError(e) && e.code === "XKS_SECRET_SOURCE" && /Cannot read --secret-file/.test(e.message),
  );
});
