/** cknfastrc edits: the variables, every other line kept, idempotent, diff for --dry-run. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import { applyCknfastPlan, cknfastPlan, defaultCknfastrcPath, parseCknfastrc } from "../../../src/config/cknfastrc.js";
import { updateCknfastrc } from "../../../src/workflows/cknfastrc.js";
import { unifiedDiff } from "../../../src/platform/text-diff.js";
import { tempDir } from "../../helpers/tmp.js";

/** The real file of nshield-tools.md §9.3 [V, S21], plus a comment and the spaced form of S10. */
const S21 = `# site settings
CKNFAST_OVERRIDE_SECURITY_ASSURANCES=explicitness
CKNFAST_DEBUG=9
CKNFAST_DEBUGFILE=/tmp/pkcs11.log
CKNFAST_FAKE_ACCELERATOR_LOGIN = 1
CKNFAST_NO_ACCELERATOR_SLOTS=0
`;

let dir: string;
before(() => (dir = tempDir("xksctl-rc-")));

describe("cknfastrc", () => {
  test("parse tolerates spaces around = and skips comments", () => {
    const v = parseCknfastrc(S21);
    assert.equal(v.get("CKNFAST_FAKE_ACCELERATOR_LOGIN"), "1");
    assert.equal(v.get("CKNFAST_DEBUG"), "9");
    assert.equal(v.size, 5);
  });

  test("module on the S21 file: already set (spaced form accepted), nothing changes", () => {
    const r = applyCknfastPlan(S21, cknfastPlan("module"), "note");
    assert.deepEqual(r.changes, []);
    assert.equal(r.text, S21);
  });

  test("ocs on the S21 file: one line changed, written without spaces, the rest kept", () => {
    const r = applyCknfastPlan(S21, cknfastPlan("ocs"), "note");
    assert.deepEqual(r.changes, [{ name: "CKNFAST_NO_ACCELERATOR_SLOTS", from: "0", to: "1" }]);
    assert.equal(r.text, S21.replace("CKNFAST_NO_ACCELERATOR_SLOTS=0", "CKNFAST_NO_ACCELERATOR_SLOTS=1"));
    assert.deepEqual(applyCknfastPlan(r.text, cknfastPlan("ocs"), "note").changes, [], "idempotent");
  });

  test("module after ocs turns the accelerator slots back on; absent variables are appended once with a note", () => {
    const ocs = "CKNFAST_LOADSHARING=1\nCKNFAST_NO_ACCELERATOR_SLOTS=1\n";
    const r = applyCknfastPlan(ocs, cknfastPlan("module"), "set by xksctl");
    assert.equal(r.text, "CKNFAST_LOADSHARING=1\nCKNFAST_NO_ACCELERATOR_SLOTS=0\n# set by xksctl\nCKNFAST_FAKE_ACCELERATOR_LOGIN=1\n");
    assert.deepEqual(applyCknfastPlan(r.text, cknfastPlan("module"), "set by xksctl").changes, []);
  });

  test("an empty file and a file without a final newline", () => {
    assert.equal(applyCknfastPlan("", cknfastPlan("ocs"), "n").text, "# n\nCKNFAST_NO_ACCELERATOR_SLOTS=1\n");
    assert.equal(applyCknfastPlan("A=1", cknfastPlan("ocs"), "n").text, "A=1\n# n\nCKNFAST_NO_ACCELERATOR_SLOTS=1\n");
  });

  test("updateCknfastrc: dry run writes nothing, then the write keeps a backup, then nothing to do", () => {
    const f = path.join(dir, "cknfastrc");
    fs.writeFileSync(f, S21);
    const dry = updateCknfastrc(f, "ocs", { dryRun: true, env: {} });
    assert.equal(dry.written, false);
    assert.equal(fs.readFileSync(f, "utf8"), S21);
    assert.equal(dry.diff, `--- a${f}\n+++ b${f}\n@@ -3,4 +3,4 @@\n CKNFAST_DEBUG=9\n CKNFAST_DEBUGFILE=/tmp/pkcs11.log\n CKNFAST_FAKE_ACCELERATOR_LOGIN = 1\n-CKNFAST_NO_ACCELERATOR_SLOTS=0\n+CKNFAST_NO_ACCELERATOR_SLOTS=1\n`);
    const real = updateCknfastrc(f, "ocs", { dryRun: false, env: { CKNFAST_NO_ACCELERATOR_SLOTS: "0" } });
    assert.equal(real.written, true);
    assert.equal(fs.readFileSync(`${f}.bak`, "utf8"), S21);
    assert.deepEqual(real.envOverrides, ["CKNFAST_NO_ACCELERATOR_SLOTS=0 in the environment overrides the file"]);
    const again = updateCknfastrc(f, "ocs", { dryRun: false, env: {} });
    assert.equal(again.written, false);
    assert.equal(again.diff, "");
  });

  test("default path follows NFAST_HOME", () => {
    assert.equal(defaultCknfastrcPath({}), "/opt/nfast/cknfastrc");
    assert.equal(defaultCknfastrcPath({ NFAST_HOME: "/x/nfast" }), "/x/nfast/cknfastrc");
  });

  test("unifiedDiff hunks: separate and merged", () => {
    const a = Array.from({ length: 20 }, (_, i) => `l${i}`).join("\n") + "\n";
    const b = a.replace("l2\n", "L2\n").replace("l17\n", "L17\n");
    const d = unifiedDiff(a, b, { fromFile: "a", toFile: "b" });
    assert.equal((d.match(/^@@/gm) ?? []).length, 2);
    assert.match(d, /^@@ -1,6 \+1,6 @@$/m);
    assert.match(d, /^@@ -15,6 \+15,6 @@$/m);
    const merged = unifiedDiff(a, a.replace("l5\n", "X\n").replace("l9\n", "Y\n"), { fromFile: "a", toFile: "b" });
    assert.equal((merged.match(/^@@/gm) ?? []).length, 1);
    assert.equal(unifiedDiff("same", "same", { fromFile: "a", toFile: "b" }), "");
    assert.equal(unifiedDiff("", "x\n", { fromFile: "a", toFile: "b" }), "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n");
  });
});
