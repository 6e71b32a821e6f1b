/**
 * The layer rules (.dependency-cruiser.cjs, docs/architecture.md) hold for src/, and a wrong import
 * is caught with the rule's name (checked on a copy of src/ with one planted import per rule).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "node_modules/.bin/depcruise");

function cruise(cwd: string): { status: number | null; out: string } {
  const r = spawnSync(BIN, ["src", "--config", ".dependency-cruiser.cjs", "--output-type", "err"], { cwd, encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test("src/ follows every layer rule", () => {
  const r = cruise(ROOT);
  assert.equal(r.status, 0, r.out);
});

test("a wrong import fails the check with the rule's name", () => {
  const dir = tempDir("xksctl-layers-");
  try {
    fs.cpSync(path.join(ROOT, "src"), path.join(dir, "src"), { recursive: true });
    for (const f of [".dependency-cruiser.cjs", "tsconfig.json", "package.json"]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    const plant = (file: string, line: string) => fs.appendFileSync(path.join(dir, file), `\n${line}\n`);
    plant("src/hsm/pkcs11/gcm.ts", 'import type { Settings } from "../../config/types.js";\nexport type PlantedA = Settings;');
    plant("src/proxy/health.ts", 'import { CKR } from "../hsm/pkcs11/ckr.js";\nexport const PlantedB = CKR;');
    plant("src/config/stores.ts", 'import { printJson } from "../ui/output.js";\nexport const PlantedC = printJson;');
    plant("src/commands/keys-list.ts", 'import { listXksKeys } from "../workflows/list-keys.js";\nexport const PlantedD = listXksKeys;');
    const r = cruise(dir);
    assert.notEqual(r.status, 0);
    for (const [rule, from] of [
      ["hsm-knows-no-settings", "src/hsm/pkcs11/gcm.ts"],
      ["proxy-sees-hsm-only-through-its-interface", "src/proxy/health.ts"],
      ["nothing-below-commands-imports-ui", "src/config/stores.ts"],
      ["commands-load-their-work-lazily", "src/commands/keys-list.ts"],
    ]) {
      assert.match(r.out, new RegExp(`${rule}: ${from.replace(/\./g, "\\.")}`), `expected ${rule} for ${from} in:\n${r.out}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
