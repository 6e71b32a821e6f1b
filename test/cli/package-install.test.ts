/**
 * The production install path: `npm pack` (its prepack type-checks and builds dist/ and the
 * native driver) in a copy of the package, then the tarball installed with production
 * dependencies only and no install scripts (no compiler runs), as on an HSM client without a
 * build toolchain. From that install: `xksctl --help`, `xksctl config validate`, and `serve`
 * answering a signed Encrypt on a SoftHSM token (so dist/, the shipped PKCS#11 driver and the
 * production dependencies are all there). The shared dist/ of the checkout is never rebuilt.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Agent } from "undici";
import { createStandardToken, keyPath, md } from "../helpers/proxy.js";
import { ROOT, startServe } from "../helpers/serve-process.js";
import { CREDS, PREFIX, testSettings, writeSettings } from "../helpers/settings.js";
import { send, smithyPost } from "../helpers/sign.js";
import { SOFTHSM_LIB, removeTestToken, type TestToken } from "../helpers/softhsm.js";
import { tempDir } from "../helpers/tmp.js";

let dir: string;
let token: TestToken;
before(() => {
  dir = tempDir("xksctl-pack-");
  token = createStandardToken();
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  removeTestToken(token);
});

const npmEnv = { ...process.env, npm_config_loglevel: "error", npm_config_fund: "false", npm_config_audit: "false", npm_config_update_notifier: "false" };

/** A copy of what `npm pack` needs, node_modules linked; native/build copied with its times (up to date). */
function packageCopy(): string {
  const copy = path.join(dir, "src-copy");
  fs.mkdirSync(copy);
  for (const f of ["package.json", "package-lock.json", "tsconfig.json", "README.md", "bin", "docs", "native", "scripts", "src", "templates"]) {
    fs.cpSync(path.join(ROOT, f), path.join(copy, f), { recursive: true, preserveTimestamps: true });
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
  return copy;
}

describe("npm pack, installed with production dependencies only", () => {
  test("the tarball holds what a production host needs and nothing else; the install runs xksctl", async () => {
    const copy = packageCopy();
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    const pack = spawnSync("npm", ["pack", "--json", "--pack-destination", out], { cwd: copy, env: npmEnv, encoding: "utf8" });
    assert.equal(pack.status, 0, `npm pack (its prepack type-checks and builds):\n${pack.stdout.slice(-2000)}\n${pack.stderr.slice(-2000)}`);
    const packed = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[$/m))) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    for (const f of ["bin/xksctl.cjs", "dist/cli.js", "templates/xksctl.service", "templates/settings.toml", "native/build/Release/xkshsm.node", "scripts/install-native.mjs", "docs/operations.md", "package.json", "README.md"]) assert.ok(files.includes(f), f);
    assert.deepEqual(files.filter((f) => /^(src|test|bench)\//.test(f) || f.includes("obj.target") || f.endsWith(".ts") && !f.endsWith(".d.ts")), [], "no sources, tests or build leftovers");

    const inst = path.join(dir, "install");
    fs.mkdirSync(inst);
    fs.writeFileSync(path.join(inst, "package.json"), '{ "name": "xks-host", "version": "1.0.0", "private": true }\n');
    execFileSync("npm", ["install", "--omit=dev", "--ignore-scripts", "--prefer-offline", path.join(out, packed[0]!.filename)], { cwd: inst, env: npmEnv, stdio: ["ignore", "pipe", "pipe"] });
    const pkg = path.join(inst, "node_modules/xksctl");
    assert.ok(fs.existsSync(path.join(pkg, "native/build/Release/xkshsm.node")), "the prebuilt driver is installed");
    for (const dev of ["typescript", "tsx", "esbuild", "dependency-cruiser", "@smithy/signature-v4"]) assert.equal(fs.existsSync(path.join(inst, "node_modules", dev)), false, `${dev} is a dev dependency`);
    // The package's install script (as `npm install` with scripts would run it) compiles nothing
    // when the shipped driver loads: with only node on PATH (no bash, make, g++) it succeeds.
    const onlyNode = path.join(dir, "only-node");
    fs.mkdirSync(onlyNode);
    fs.symlinkSync(process.execPath, path.join(onlyNode, "node"));
    const script = spawnSync(process.execPath, [path.join(pkg, "scripts/install-native.mjs")], { cwd: pkg, env: { PATH: onlyNode }, encoding: "utf8" });
    assert.equal(script.status, 0, script.stderr);
    const bin = path.join(inst, "node_modules/.bin/xksctl");
    // Run from elsewhere, with PATH holding no compiler-related tools of the checkout.
    const env = { PATH: process.env.PATH, HOME: dir, SOFTHSM2_CONF: token.conf };
    const help = spawnSync(bin, ["--help"], { cwd: dir, env, encoding: "utf8" });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Usage: xksctl/);
    const creds = spawnSync(bin, ["creds", "--help"], { cwd: dir, env, encoding: "utf8" });
    assert.equal(creds.status, 0, creds.stderr);
    assert.match(creds.stdout, /rotate/);

    const settings = writeSettings(dir, testSettings({ module: SOFTHSM_LIB, tokenLabel: token.label, pin: token.pin }, { server: { port_http_ping: 0 } }), "settings.toml");
    const validate = spawnSync(bin, ["config", "validate", "--config", settings], { cwd: dir, env, encoding: "utf8" });
    assert.equal(validate.status, 0, validate.stderr + validate.stdout);

    // serve from the install: the shipped driver opens the token; a signed Encrypt succeeds.
    const s = await startServe(settings, env, { bin, cwd: dir, scheme: "http" });
    const h1 = new Agent();
    try {
      assert.equal((await send(`${s.url}/ping`, "GET", {}, undefined, h1)).status, 200);
      const enc = await smithyPost(`${s.url}${keyPath(PREFIX, "foo", "encrypt")}`, { requestMetadata: md(), plaintext: Buffer.from("packed").toString("base64"), encryptionAlgorithm: "AES_GCM" }, h1, { accessKeyId: CREDS.main.id, secret: CREDS.main.secret });
      assert.equal(enc.status, 200, enc.text);
    } finally {
      await h1.close();
      assert.equal(await s.stop(), 0, s.stderr());
    }
  });
});
