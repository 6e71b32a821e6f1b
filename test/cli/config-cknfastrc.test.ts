/** `xksctl config cknfastrc`: dry run diff, write with backup, idempotence, errors. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import { runXksctl } from "../helpers/operator.js";
import { tempDir } from "../helpers/tmp.js";

let dir: string;
before(() => (dir = tempDir("xksctl-rc-cli-")));
const ORIGINAL = "# local settings\nCKNFAST_LOADSHARING=1\n\nCKNFAST_DEBUG=2\n";

describe("config cknfastrc", () => {
  test("--dry-run prints the diff and writes nothing", async () => {
    const f = path.join(dir, "rc1");
    fs.writeFileSync(f, ORIGINAL);
    const r = await runXksctl(["config", "cknfastrc", "--protection", "module", "--file", f, "--dry-run"]);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      `--- a${f}\n+++ b${f}\n@@ -2,3 +2,5 @@\n CKNFAST_LOADSHARING=1\n \n CKNFAST_DEBUG=2\n+# set by xksctl config cknfastrc --protection module\n+CKNFAST_FAKE_ACCELERATOR_LOGIN=1\n(dry run: ${f} was not changed)\n`,
    );
    assert.equal(fs.readFileSync(f, "utf8"), ORIGINAL);
  });

  test("writes, keeps a backup, then reports nothing to change", async () => {
    const f = path.join(dir, "rc2");
    fs.writeFileSync(f, ORIGINAL);
    const r = await runXksctl(["config", "cknfastrc", "--protection", "ocs", "--file", f]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`✔ Updated ${f}: CKNFAST_NO_ACCELERATOR_SLOTS=1 \\(previous version: ${f}\\.bak\\)`));
    assert.match(r.stdout, /→ Restart programs using the nShield PKCS#11 library/);
    assert.equal(fs.readFileSync(f, "utf8"), `${ORIGINAL}# set by xksctl config cknfastrc --protection ocs\nCKNFAST_NO_ACCELERATOR_SLOTS=1\n`);
    assert.equal(fs.readFileSync(`${f}.bak`, "utf8"), ORIGINAL);
    const again = await runXksctl(["config", "cknfastrc", "--protection", "ocs", "--file", f]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already has the settings for ocs protection; nothing to change/);
  });

  test("--json, the default path from NFAST_HOME, a missing file is created, env override warning", async () => {
    const home = path.join(dir, "nfast");
    fs.mkdirSync(home);
    const r = await runXksctl(["config", "cknfastrc", "--protection", "module", "--json"], { env: { NFAST_HOME: home, CKNFAST_FAKE_ACCELERATOR_LOGIN: "0" } });
    assert.equal(r.code, 0);
    const j = JSON.parse(r.stdout);
    assert.equal(j.file, path.join(home, "cknfastrc"));
    assert.equal(j.written, true);
    assert.deepEqual(j.changes, [{ name: "CKNFAST_FAKE_ACCELERATOR_LOGIN", from: null, to: "1" }]);
    assert.deepEqual(j.envOverrides, ["CKNFAST_FAKE_ACCELERATOR_LOGIN=0 in the environment overrides the file"]);
    assert.equal(fs.statSync(path.join(home, "cknfastrc")).mode & 0o777, 0o644);
    const text = await runXksctl(["config", "cknfastrc", "--protection", "module"], { env: { NFAST_HOME: home, CKNFAST_FAKE_ACCELERATOR_LOGIN: "0" } });
    assert.match(text.stderr, /warning: CKNFAST_FAKE_ACCELERATOR_LOGIN=0 in the environment overrides the file/);
  });

  test("errors: bad --protection (exit 2), unreadable file (exit 1)", async () => {
    const bad = await runXksctl(["config", "cknfastrc", "--protection", "softcard", "--file", path.join(dir, "x")]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--protection must be module or ocs, got "softcard"/);
    const none = await runXksctl(["config", "cknfastrc", "--file", path.join(dir, "x")]);
    assert.equal(none.code, 2);
    const unreadable = await runXksctl(["config", "cknfastrc", "--protection", "ocs", "--file", dir]);
    assert.equal(unreadable.code, 1);
    assert.match(unreadable.stderr, /✖ Cannot read .* \(EISDIR\)\.\n→ Check the path exists and is readable/);
  });
});
