/**
 * Start-up failures an nShield admin meets, through the real binary: each is one typed message with
 * its fix and exit 1, never "This is a bug in xksctl" or a stack trace. The slowhsm shim refuses
 * the chosen call (its control file), so each case runs in its own `serve` process.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { readStats } from "../fixtures/slowhsm/control.mjs";
import { runBin, servedToken, slowHsmLibrary } from "../helpers/serve-process.js";
import { tempDir } from "../helpers/tmp.js";

const served = servedToken();
let shim: string;
let dir: string;

before(() => {
  shim = slowHsmLibrary();
  dir = tempDir("xksctl-startup-");
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `serve` on the shim with `directive` in its control file (and `patch` on the settings). */
async function serveWith(directive: string, patch: Record<string, unknown> = {}): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const control = path.join(dir, `control-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(control, `${directive}\n`);
  return runBin(["serve", "--config", served.config(patch, `shim-${path.basename(control)}.toml`, shim)], { ...served.token.env, SLOWHSM_CONTROL: control }, 15_000);
}

function assertClean(r: { code: number | null; stderr: string; stdout: string }, message: RegExp, fix: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, message);
  assert.match(r.stderr, fix);
  assert.doesNotMatch(r.stderr, /bug in xksctl|^\s+at .+:\d+:\d+\)?$/m, `no bug report, no stack:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr + r.stdout, new RegExp(served.token.pin), "the PIN is never printed");
}

test("C_Login refused for a reason other than the PIN (nShield module protection without CKNFAST_FAKE_ACCELERATOR_LOGIN)", async () => {
  const r = await serveWith("fail C_Login CKR_USER_TYPE_INVALID");
  assertClean(r, /✖ C_Login failed: C_Login returned CKR_USER_TYPE_INVALID/, /→ nShield module protection needs CKNFAST_FAKE_ACCELERATOR_LOGIN=1/);
});

test("a locked PIN is a PIN problem", async () => {
  const r = await serveWith("fail C_Login CKR_PIN_LOCKED");
  assertClean(r, /✖ C_Login refused the user PIN: CKR_PIN_LOCKED/, /→ Check \[pkcs11\] user_pin/);
});

test("C_OpenSession refused", async () => {
  const r = await serveWith("fail C_OpenSession CKR_DEVICE_MEMORY");
  assertClean(r, /✖ C_OpenSession refused a read\/write session: C_OpenSession returned CKR_DEVICE_MEMORY/, /→ Check the token accepts read\/write sessions/);
});

test("C_GenerateKey refused for the health-check session key", async () => {
  const r = await serveWith("fail C_GenerateKey CKR_FUNCTION_NOT_SUPPORTED");
  assertClean(r, /✖ C_GenerateKey refused the health-check session key .*CKR_FUNCTION_NOT_SUPPORTED/, /→ Allow AES-256 key generation/);
});

test("after a start-up failure, C_Finalize waits for the pool's C_CloseSession calls (never during them)", async () => {
  const stats = path.join(dir, "finalize-stats.json");
  const control = path.join(dir, "finalize-control");
  // The pool's 4 sessions are closed first and not awaited; the health and anchor sessions are
  // closed next, one after the other. The first 4 closes take 300 ms more.
  fs.writeFileSync(control, "fail C_GenerateKey CKR_FUNCTION_NOT_SUPPORTED\ndelay C_CloseSession 300 count=4\n");
  const config = served.config({ pkcs11: { session_pool_max_size: 4 } }, "finalize.toml", shim);
  const r = await runBin(["serve", "--config", config], { ...served.token.env, SLOWHSM_CONTROL: control, SLOWHSM_STATS: stats }, 15_000);
  assert.equal(r.code, 1, r.stderr);
  const s = readStats(stats)!;
  assert.ok(s.calls.C_CloseSession === 6 && s.calls.C_Finalize === 1, JSON.stringify(s.calls));
  assert.equal(s.finalize_during_calls, 0, "C_Finalize while C_CloseSession calls were inside the module");
});

// Before open_timeout_milli, serve waited for the hanging C_Login forever (runBin's 15 s ran out: code null).
test("an HSM that never answers C_Login: serve gives up after [pkcs11] open_timeout_milli and exits 1", async () => {
  const r = await serveWith("hang C_Login", { pkcs11: { open_timeout_milli: 1000 } });
  assertClean(r, /✖ The HSM did not finish opening within 1000 ms \(loading .*libslowhsm\.so, C_Login, \d+ sessions\)/, /→ Check that the HSM answers/);
});

test("with 2 workers, a worker whose C_Login never returns ends the start the same way", async () => {
  const r = await serveWith("hang C_Login", { server: { workers: 2 }, pkcs11: { open_timeout_milli: 1000 } });
  assertClean(r, /✖ The HSM did not finish opening within 1000 ms/, /→ Check that the HSM answers/);
});

test("C_Initialize refused (hardserver not running)", async () => {
  const r = await serveWith("fail C_Initialize CKR_DEVICE_ERROR");
  assertClean(r, /✖ C_Initialize failed for .*libslowhsm\.so: C_Initialize returned CKR_DEVICE_ERROR/, /→ Check the HSM client is running/);
});

test("no token at all (a removed token)", async () => {
  const r = await serveWith("remove_token");
  assertClean(r, /✖ No token labelled "xks-test"/, /→ Check the token exists/);
});

test("a library of the wrong architecture", async () => {
  const elf32 = path.join(dir, "libcknfast32.so");
  const header = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1 /* ELFCLASS32 */, 1, 1]).copy(header);
  fs.writeFileSync(elf32, header);
  const r = await runBin(["serve", "--config", served.config({}, "elf32.toml", elf32)], served.token.env, 15_000);
  assertClean(r, /✖ .*libcknfast32\.so is not a PKCS#11 library for this machine/, /→ Install the 64-bit x86 build of the vendor's PKCS#11 library/);
});

test("a file that is not a library at all", async () => {
  const junk = path.join(dir, "libjunk.so");
  fs.writeFileSync(junk, "not a library\n");
  const r = await runBin(["serve", "--config", served.config({}, "junk.toml", junk)], served.token.env, 15_000);
  assertClean(r, /✖ .*libjunk\.so is not a PKCS#11 library for this machine|✖ Cannot load PKCS#11 library .*libjunk\.so/, /→ /);
});
