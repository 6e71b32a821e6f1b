/**
 * The operator verbs through the real binary (`node bin/xksctl.cjs`, dist/ built by
 * `npm run build`) in a subprocess, with the nShield stand-ins first on PATH: what an admin runs
 * before `serve` (keys create, creds generate) leaves settings that loadSettings() accepts.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { defaultValidateDeps, loadSettings } from "../../src/config/load.js";
import { ROOT, createStandinWorld, writeCommentedSettings, type StandinWorld } from "../helpers/operator.js";
import { runBin } from "../helpers/serve-process.js";
import { createTestToken, removeTestToken, type TestToken } from "../helpers/softhsm.js";

let token: TestToken;
let world: StandinWorld;
let file: string;

/** Builds dist/ when it is missing or older than the sources of the verbs under test. */
function ensureBuilt(): void {
  const out = path.join(ROOT, "dist/cli.js");
  const newest = ["src/commands/keys-create.ts", "src/platform/exec.ts", "src/workflows/credentials.ts"].map((f) => fs.statSync(path.join(ROOT, f)).mtimeMs);
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < Math.max(...newest)) {
    execFileSync("node", ["scripts/build.mjs"], { cwd: ROOT, stdio: "ignore" });
  }
}

before(() => {
  ensureBuilt();
  token = createTestToken("xks-bin", "2468");
  world = createStandinWorld(token);
  file = writeCommentedSettings(world.home, { tokenLabel: token.label, pin: token.pin, keyIds: [] });
});
after(() => {
  world.cleanup();
  removeTestToken(token);
});

describe("the built binary", () => {
  test("hsm status, keys create, creds generate, keys list, keys test: settings stay loadable", async () => {
    const status = await runBin(["hsm", "status", "--json"], world.env);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).usable, true);

    const created = await runBin(["keys", "create", "bin-key-1", "--protect", "module", "--config", file], world.env);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /✔ Created AES-256 key "bin-key-1" \(module protection\)/);

    const consoleJson = path.join(world.home, "kms-console.json");
    const creds = await runBin(["creds", "generate", "--config", file, "--console-json", consoleJson], world.env);
    assert.equal(creds.code, 0, creds.stderr);
    assert.equal(fs.statSync(consoleJson).mode & 0o777, 0o600);
    const c = JSON.parse(fs.readFileSync(consoleJson, "utf8"));
    assert.ok(creds.stdout.includes(c.XksProxyAuthenticationCredential.RawSecretAccessKey));

    const { settings } = loadSettings(file, defaultValidateDeps({}));
    assert.deepEqual(settings.external_key_stores[0]!.xks_key_id_set, ["bin-key-1"]);
    assert.deepEqual(settings.external_key_stores[0]!.credentials, [
      { accessKeyId: c.XksProxyAuthenticationCredential.AccessKeyId, secretAccessKey: c.XksProxyAuthenticationCredential.RawSecretAccessKey },
    ]);

    const list = await runBin(["keys", "list", "--config", file], world.env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^bin-key-1 +module +yes +AES_256 +"\/example\/prefix" +yes$/m);

    const t = await runBin(["keys", "test", "bin-key-1", "--config", file], world.env);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /✔ bin-key-1: AES-GCM round trip ok \(AES_256/);
  });

  test("a failure is one message, one fix and exit 1, no stack trace", async () => {
    const r = await runBin(["keys", "create", "bin-key-2", "--protect", "module", "--config", file], { ...world.env, NFAST_STANDIN_FAIL: "hardserver-down" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^✖ nfkminfo: the nShield hardserver is not running/m);
    assert.match(r.stderr, /^→ Start the hardserver/m);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  });

  test("--help shows the examples of every operator verb", async () => {
    for (const verb of [["hsm", "status"], ["ocs", "create"], ["keys", "create"], ["keys", "list"], ["keys", "test"], ["creds", "generate"], ["config", "cknfastrc"], ["aws"]]) {
      const r = await runBin([...verb, "--help"], world.env);
      assert.equal(r.code, 0, verb.join(" "));
      assert.match(r.stdout, new RegExp(`Examples:\\n  \\$ xksctl ${verb.join(" ")}`), verb.join(" "));
    }
  });
});
