/** Atomic replacement: temp file + rename, backup, modes, symlinks, and an interrupted run. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import { isXksctlError } from "../../../src/errors.js";
import { writeFileAtomic } from "../../../src/platform/atomic-write.js";
import { tempDir } from "../../helpers/tmp.js";

let dir: string;
before(() => (dir = tempDir("xksctl-atomic-")));
const mode = (f: string) => fs.statSync(f).mode & 0o777;
const leftovers = () => fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"));

describe("writeFileAtomic", () => {
  test("a new file gets 0644 (or 0600 when secret) and no backup", () => {
    const f = path.join(dir, "new.txt");
    const r = writeFileAtomic(f, "hello\n");
    assert.equal(fs.readFileSync(f, "utf8"), "hello\n");
    assert.equal(mode(f), 0o644);
    assert.equal(r.backup, undefined);
    const s = path.join(dir, "secret.json");
    writeFileAtomic(s, "{}", { secret: true });
    assert.equal(mode(s), 0o600);
  });

  test("replacing keeps the old mode and the old content in <file>.bak", () => {
    const f = path.join(dir, "settings.toml");
    fs.writeFileSync(f, "old\n", { mode: 0o640 });
    fs.chmodSync(f, 0o640);
    const r = writeFileAtomic(f, "new\n");
    assert.equal(fs.readFileSync(f, "utf8"), "new\n");
    assert.equal(mode(f), 0o640);
    assert.equal(r.backup, `${f}.bak`);
    assert.equal(fs.readFileSync(`${f}.bak`, "utf8"), "old\n");
    assert.equal(mode(`${f}.bak`), 0o640);
    assert.deepEqual(leftovers(), []);
  });

  test("a secret file is forced to 0600, backup included", () => {
    const f = path.join(dir, "console.json");
    fs.writeFileSync(f, "old secret");
    fs.chmodSync(f, 0o644);
    writeFileAtomic(f, "new secret", { secret: true });
    assert.equal(mode(f), 0o600);
    assert.equal(mode(`${f}.bak`), 0o600);
  });

  test("an interrupted run (failure before the rename) leaves the old file intact and no temp file", () => {
    const f = path.join(dir, "keep.toml");
    fs.writeFileSync(f, "original\n");
    assert.throws(
      () =>
        writeFileAtomic(f, "half-done\n", {
          beforeRename: (tmp) => {
            assert.equal(fs.readFileSync(tmp, "utf8"), "half-done\n");
            throw Object.assign(new Error("power cut"), { code: "EINTR" });
          },
        }),
      (e: unknown) => isXksctlError(e) && e.code === "XKS_FILE_WRITE" && /Could not write .*keep\.toml \(EINTR\)/.test(e.message) && /old file was kept/.test(e.remedy),
    );
    assert.equal(fs.readFileSync(f, "utf8"), "original\n");
    assert.deepEqual(leftovers(), []);
  });

  test("a symlinked file is replaced at its target; the link stays", () => {
    const target = path.join(dir, "real.toml");
    const link = path.join(dir, "link.toml");
    fs.writeFileSync(target, "a");
    fs.symlinkSync(target, link);
    const r = writeFileAtomic(link, "b");
    assert.equal(r.file, target);
    assert.ok(fs.lstatSync(link).isSymbolicLink());
    assert.equal(fs.readFileSync(link, "utf8"), "b");
  });

  test("a missing directory is XKS_FILE_WRITE", () => {
    assert.throws(() => writeFileAtomic(path.join(dir, "nope", "x"), "x"), (e: unknown) => isXksctlError(e) && e.code === "XKS_FILE_WRITE" && /ENOENT/.test(e.message));
  });
});
