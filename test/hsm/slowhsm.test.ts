/**
 * Tests for the slowhsm PKCS#11 shim (test/fixtures/slowhsm): pass-through, the
 * nShield/CloudHSM ("zero") and Luna ("append") GCM IV behaviours, the per-call
 * delay, SLOWHSM_FAIL, the run-time control file (fail, hang, delay, lose_login,
 * invalidate_sessions, remove_token) under concurrent calls, and the stats file,
 * all over a private SoftHSM2 token.
 *
 * The shim reads its SLOWHSM_* environment once, when it is loaded, so every
 * scenario runs in a fresh process (test/fixtures/slowhsm/probe.mjs) that prints
 * JSON; control-file scenarios rewrite the control file from inside that process
 * while its calls are in flight. Assertions are on outcomes (return codes, bytes,
 * counters); the only timings checked are lower bounds of sleeps.
 *
 *   node --import tsx --test test/hsm/slowhsm.test.ts
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readStats, writeControl, type SlowHsmStats } from "../fixtures/slowhsm/control.mjs";
import { tempDir } from "../helpers/tmp.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const fixture = path.join(repo, "test/fixtures/slowhsm");
const probe = path.join(fixture, "probe.mjs");

// PKCS#11 v2.40 return values, written out here independently of the shim's table.
const CKR = {
  CKR_SLOT_ID_INVALID: 0x3,
  CKR_GENERAL_ERROR: 0x5,
  CKR_FUNCTION_FAILED: 0x6,
  CKR_ARGUMENTS_BAD: 0x7,
  CKR_DEVICE_ERROR: 0x30,
  CKR_DEVICE_MEMORY: 0x31,
  CKR_DEVICE_REMOVED: 0x32,
  CKR_FUNCTION_NOT_SUPPORTED: 0x54,
  CKR_KEY_HANDLE_INVALID: 0x60,
  CKR_MECHANISM_INVALID: 0x70,
  CKR_MECHANISM_PARAM_INVALID: 0x71,
  CKR_OBJECT_HANDLE_INVALID: 0x82,
  CKR_OPERATION_ACTIVE: 0x90,
  CKR_PIN_INCORRECT: 0xa0,
  CKR_PIN_LOCKED: 0xa4,
  CKR_SESSION_CLOSED: 0xb0,
  CKR_SESSION_HANDLE_INVALID: 0xb3,
  CKR_TOKEN_NOT_PRESENT: 0xe0,
  CKR_USER_NOT_LOGGED_IN: 0x101,
  CKR_BUFFER_TOO_SMALL: 0x150,
  CKR_CRYPTOKI_NOT_INITIALIZED: 0x190,
} as const;
const CKS_RW_PUBLIC_SESSION = 2;
const CKS_RW_USER_FUNCTIONS = 3;
/** The CKR names the control file must accept (the README promises them). */
const REQUIRED_CKR_NAMES = [
  "CKR_DEVICE_ERROR", "CKR_DEVICE_REMOVED", "CKR_SESSION_HANDLE_INVALID", "CKR_SESSION_CLOSED",
  "CKR_USER_NOT_LOGGED_IN", "CKR_TOKEN_NOT_PRESENT", "CKR_GENERAL_ERROR", "CKR_FUNCTION_FAILED",
  "CKR_ARGUMENTS_BAD", "CKR_PIN_INCORRECT", "CKR_PIN_LOCKED", "CKR_DEVICE_MEMORY", "CKR_OPERATION_ACTIVE",
  "CKR_KEY_HANDLE_INVALID", "CKR_OBJECT_HANDLE_INVALID", "CKR_MECHANISM_INVALID",
  "CKR_CRYPTOKI_NOT_INITIALIZED", "CKR_FUNCTION_NOT_SUPPORTED", "CKR_SLOT_ID_INVALID",
] as const;

let tmp = "";
let so = "";
let conf = "";
let runs = 0;

before(() => {
  so = execFileSync("bash", [path.join(fixture, "build.sh")], { encoding: "utf8" }).trim();
  assert.ok(path.isAbsolute(so) && fs.existsSync(so), `build.sh printed ${so}`);

  tmp = tempDir("slowhsm-test-");
  fs.mkdirSync(path.join(tmp, "tokens"));
  conf = path.join(tmp, "softhsm2.conf");
  fs.writeFileSync(
    conf,
    [
      `directories.tokendir = ${path.join(tmp, "tokens")}`,
      "objectstore.backend = file",
      "log.level = ERROR",
      "slots.removable = false",
      "",
    ].join("\n"),
  );
  // Before any PKCS#11 module is loaded (here only in child processes).
  process.env.SOFTHSM2_CONF = conf;
  execFileSync("softhsm2-util", ["--init-token", "--free", "--label", "t", "--so-pin", "1234", "--pin", "1234"], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    stdio: ["ignore", "ignore", "pipe"],
  });
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

interface ProbeResult {
  scenario: string;
  key: string;
  plaintext: string;
  aad: string;
  stats?: SlowHsmStats;
  stderr: string;
  [k: string]: unknown;
}

class ProbeError extends Error {
  constructor(message: string, readonly stderr: string) {
    super(message);
  }
}

/** Runs one probe scenario in a fresh node process with the given SLOWHSM_* env. */
function runProbe(args: string[], env: Record<string, string>): ProbeResult {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("SLOWHSM_")) base[k] = v;
  const r = spawnSync(process.execPath, [probe, ...args], {
    env: { ...base, SOFTHSM2_CONF: conf, SLOWHSM_SO: so, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 90_000,
  });
  if (r.status !== 0) {
    throw new ProbeError(`probe ${args.join(" ")} exited ${r.status ?? r.signal}: ${r.stderr}`, r.stderr);
  }
  const parsed = JSON.parse(r.stdout) as ProbeResult;
  parsed.stderr = r.stderr;
  return parsed;
}

/** Paths for one control-file run: a fresh directory with the control and stats files. */
function controlEnv(extra: Record<string, string> = {}): Record<string, string> {
  const dir = path.join(tmp, `run-${++runs}`);
  fs.mkdirSync(dir);
  return { SLOWHSM_CONTROL: path.join(dir, "control"), SLOWHSM_STATS: path.join(dir, "stats.json"), ...extra };
}

const buf = (hex: unknown): Buffer => {
  assert.equal(typeof hex, "string");
  return Buffer.from(hex as string, "hex");
};

/** Independent AES-256-GCM check with node:crypto (the probe's keys are extractable). */
function gcmOpen(r: ProbeResult, iv: Buffer, ctAndTag: Buffer, key = buf(r.key)): Buffer {
  const d = crypto.createDecipheriv("aes-256-gcm", key, iv);
  d.setAAD(buf(r.aad));
  d.setAuthTag(ctAndTag.subarray(ctAndTag.length - 16));
  return Buffer.concat([d.update(ctAndTag.subarray(0, ctAndTag.length - 16)), d.final()]);
}

/** The probe's session pools encrypt with a 12-byte IV of 0x03 bytes. */
const POOL_IV = Buffer.alloc(12, 3);

const stats = (r: ProbeResult): SlowHsmStats => {
  assert.ok(r.stats, "the probe read the stats file written at C_Finalize");
  return r.stats;
};

// ------------------------------------------------------------------ environment only

test("none: pure pass-through GCM round trip with a caller IV", () => {
  const r = runProbe(["none"], { SLOWHSM_IV_MODE: "none" });
  const pt = buf(r.plaintext);
  const ct = buf(r.ct);
  assert.equal(ct.length, pt.length + 16);
  assert.deepEqual(buf(r.decrypted), pt);
  assert.deepEqual(gcmOpen(r, buf(r.iv), ct), pt);
});

test("zero: all-zero caller IV is replaced by a random IV written back into the JS Buffer", () => {
  const r = runProbe(["zero"], { SLOWHSM_IV_MODE: "zero" });
  const pt = buf(r.plaintext);
  const iv = buf(r.ivAfterInit);
  assert.equal(iv.length, 12);
  assert.notDeepEqual(iv, Buffer.alloc(12), "IV buffer still all zero after C_EncryptInit");
  assert.notDeepEqual(buf(r.ivSecondInit), iv, "second C_EncryptInit reused the IV");
  const ct = buf(r.ct);
  assert.equal(ct.length, pt.length + 16);
  assert.deepEqual(buf(r.decrypted), pt, "plain C_Decrypt with the written-back IV");
  assert.deepEqual(gcmOpen(r, iv, ct), pt);
  assert.equal(r.nonZeroIvCode, CKR.CKR_MECHANISM_PARAM_INVALID);
  assert.equal(r.nonZeroIvUnchanged, "000000000000000000000001", "refused IV must not be modified");
  assert.equal(r.wrongLenIvCode, CKR.CKR_MECHANISM_PARAM_INVALID);
});

test("append: empty caller IV, output is ciphertext || tag || IV", () => {
  const r = runProbe(["append"], { SLOWHSM_IV_MODE: "append" });
  const pt = buf(r.plaintext);
  const out = buf(r.out);
  assert.equal(out.length, pt.length + 16 + 12);
  const iv = out.subarray(out.length - 12);
  const ctAndTag = out.subarray(0, out.length - 12);
  assert.deepEqual(buf(r.decrypted), pt, "C_Decrypt of ct||tag with the appended IV");
  assert.deepEqual(gcmOpen(r, iv, ctAndTag), pt);
  assert.equal(r.shortBufferCode, CKR.CKR_BUFFER_TOO_SMALL, "buffer of len+16+11");
  assert.equal(r.tinyBufferCode, CKR.CKR_BUFFER_TOO_SMALL, "buffer smaller than the IV");
  const out2 = buf(r.out2);
  assert.equal(out2.length, pt.length + 16 + 12);
  assert.notDeepEqual(out2.subarray(out2.length - 12), iv, "IV reused across C_EncryptInit");
  assert.deepEqual(gcmOpen(r, out2.subarray(out2.length - 12), out2.subarray(0, out2.length - 12)), pt);
  assert.equal(r.nonEmptyIvCode, CKR.CKR_MECHANISM_PARAM_INVALID);
});

test("delay: SLOWHSM_DELAY_MS delays every call by default, C_GetFunctionList excepted", () => {
  const r = runProbe(["delay", "4"], { SLOWHSM_DELAY_MS: "20", UV_THREADPOOL_SIZE: "4", ...controlEnv() });
  assert.ok((r.syncMs as number) >= 20, `sync C_Encrypt took ${r.syncMs} ms`);
  assert.ok((r.initMs as number) >= 20, `C_EncryptInit took ${r.initMs} ms`);
  assert.deepEqual(r.concurrentLens, Array(4).fill(buf(r.plaintext).length + 16));
  const s = stats(r);
  for (const fn of ["C_Initialize", "C_GetSlotList", "C_GetTokenInfo", "C_OpenSession", "C_Login", "C_GenerateKey",
    "C_GetAttributeValue", "C_EncryptInit", "C_Encrypt", "C_CloseSession", "C_Logout", "C_Finalize"]) {
    assert.ok((s.calls[fn] ?? 0) > 0, `${fn} was called`);
  }
  assert.equal(s.calls.C_Finalize, 1);
  assert.equal(s.calls.C_GetFunctionList, undefined, "C_GetFunctionList is not a counted call");
  for (const [fn, n] of Object.entries(s.calls)) {
    assert.equal(s.delayed[fn], n, `every ${fn} call was delayed`);
    assert.equal(s.delay_ns[fn], n! * 20_000_000, `${fn}: 20 ms each`);
  }
  assert.equal(s.calls_total, Object.values(s.calls).reduce((a, b) => a! + b!, 0));
  assert.deepEqual(s.faults, {});
});

test("delay: 16 concurrent delayed calls are all inside the shim at once (max_in_flight >= 16)", () => {
  const r = runProbe(["delay", "16"], {
    SLOWHSM_DELAY_MS: "250", SLOWHSM_DELAY_CALLS: "C_Encrypt", UV_THREADPOOL_SIZE: "16", ...controlEnv(),
  });
  assert.deepEqual(r.concurrentLens, Array(16).fill(buf(r.plaintext).length + 16));
  const s = stats(r);
  assert.ok(s.max_in_flight >= 16, `max_in_flight ${s.max_in_flight}`);
  assert.ok(s.max_sleeping >= 16, `max_sleeping ${s.max_sleeping}: the sleeps overlap, nothing serialises them`);
  assert.equal(s.in_flight, 0);
  assert.deepEqual(s.delayed, { C_Encrypt: 18 }, "only the listed function is delayed");
  assert.equal(s.calls.C_Encrypt, 18);
});

test("delay: 32 threads can sleep in the shim at once", () => {
  const r = runProbe(["delay", "32"], {
    SLOWHSM_DELAY_MS: "250", SLOWHSM_DELAY_CALLS: "C_Encrypt", UV_THREADPOOL_SIZE: "32", ...controlEnv(),
  });
  assert.deepEqual(r.concurrentLens, Array(32).fill(buf(r.plaintext).length + 16));
  assert.ok(stats(r).max_sleeping >= 32, `max_sleeping ${stats(r).max_sleeping}`);
});

test("delay: fractional milliseconds and an explicit call list; an empty list delays nothing", () => {
  const r = runProbe(["delay", "2"], { SLOWHSM_DELAY_MS: "0.5", SLOWHSM_DELAY_CALLS: "C_EncryptInit", ...controlEnv() });
  assert.ok((r.initMs as number) >= 0.5, `C_EncryptInit took ${r.initMs} ms`);
  const s = stats(r);
  assert.deepEqual(s.delayed, { C_EncryptInit: s.calls.C_EncryptInit });
  assert.deepEqual(s.delay_ns, { C_EncryptInit: s.calls.C_EncryptInit! * 500_000 });

  const none = stats(runProbe(["delay", "2"], { SLOWHSM_DELAY_MS: "50", SLOWHSM_DELAY_CALLS: "", ...controlEnv() }));
  assert.deepEqual(none.delayed, {});
  assert.ok(none.calls_total > 10);
});

test("fail: SLOWHSM_FAIL=C_Encrypt makes C_Encrypt return CKR_DEVICE_ERROR, toggled at run time", () => {
  const r = runProbe(["fail"], {});
  assert.equal(r.failCode, CKR.CKR_DEVICE_ERROR);
  assert.equal(r.failAsyncCode, CKR.CKR_DEVICE_ERROR);
  // The injected error never reached SoftHSM: its operation is still active.
  assert.equal(r.reinitCode, CKR.CKR_OPERATION_ACTIVE);
  assert.equal(r.after, r.before, "pending C_Encrypt completes once SLOWHSM_FAIL is cleared");
  assert.equal(r.openSessionCode, CKR.CKR_DEVICE_ERROR);
  assert.equal(r.encryptInitWhileOtherFail, 0);
});

test("fail: SLOWHSM_FAIL set at load time", () => {
  assert.throws(
    () => runProbe(["none"], { SLOWHSM_FAIL: "C_Encrypt" }),
    (e: ProbeError) => /CKR_DEVICE_ERROR/.test(e.stderr),
  );
});

test("bad configuration is refused at load", () => {
  const bad: Record<string, string>[] = [
    { SLOWHSM_IV_MODE: "bogus" },
    { SLOWHSM_DELAY_MS: "5ms" },
    { SLOWHSM_DELAY_CALLS: "C_Nope" },
    { SLOWHSM_CONTROL: `${tmp}/` },
  ];
  for (const env of bad) {
    assert.throws(
      () => runProbe(["none"], env),
      (e: ProbeError) => /slowhsm: /.test(e.stderr),
      JSON.stringify(env),
    );
  }
});

// ------------------------------------------------------------------ control file

test("control: a missing file means no faults; a file present at load applies from the first call", () => {
  const env = controlEnv();
  const r = runProbe(["none"], env);
  assert.deepEqual(gcmOpen(r, buf(r.iv), buf(r.ct)), buf(r.plaintext));
  const s = stats(r);
  assert.equal(s.control.enabled, true);
  assert.deepEqual(s.faults, {});

  const env2 = controlEnv();
  writeControl(env2.SLOWHSM_CONTROL!, ["fail C_GenerateKey CKR_DEVICE_MEMORY"]);
  assert.throws(() => runProbe(["none"], env2), (e: ProbeError) => /CKR_DEVICE_MEMORY/.test(e.stderr));
  assert.deepEqual(readStats(env2.SLOWHSM_STATS!)?.faults, { C_GenerateKey: 1 }, "stats written at exit");
});

test("stats: %p in SLOWHSM_STATS gives each process its own file, named by its pid", () => {
  const dir = path.join(tmp, `run-${++runs}`);
  fs.mkdirSync(dir);
  const env = { SLOWHSM_STATS: path.join(dir, "stats-%p.json") };
  const pids = [runProbe(["none"], env), runProbe(["none"], env)].map((r) => stats(r).pid);
  assert.notEqual(pids[0], pids[1]);
  assert.deepEqual(fs.readdirSync(dir).sort(), pids.map((p) => `stats-${p}.json`).sort());
  for (const p of pids) assert.equal(readStats(path.join(dir, `stats-${p}.json`))?.pid, p);
});

test("control fail: nth= hits exactly one of 16 concurrent calls, count= a window, and the failed operation is ended", () => {
  const r = runProbe(["ctl-fail", "16"], controlEnv({
    UV_THREADPOOL_SIZE: "16", SLOWHSM_PROBE_CKR_NAMES: REQUIRED_CKR_NAMES.join(","),
  }));
  type Round = { init: number[]; codes: Record<string, number>; cts: string[] };
  const round = (k: string) => r[k] as Round;
  const reference = r.reference as string;
  assert.deepEqual(gcmOpen(r, POOL_IV, buf(reference)), buf(r.plaintext));
  const dev = String(CKR.CKR_DEVICE_ERROR);

  assert.deepEqual(round("nth").codes, { ok: 15, [dev]: 1 }, "nth=5: exactly one call fails");
  assert.deepEqual(round("nth").cts, [reference], "the others encrypt correctly");
  // The next C_EncryptInit on every session, including the one whose C_Encrypt
  // failed, succeeds: the shim ended that operation in SoftHSM.
  assert.deepEqual(round("nthLater").init, Array(16).fill(0));
  assert.deepEqual(round("nthLater").codes, { ok: 16 }, "the 5th call is behind us");
  assert.deepEqual(round("window").codes, { ok: 13, [dev]: 3 }, "nth=2 count=3, counted from when the line appeared");
  assert.deepEqual(round("windowRewritten").init, Array(16).fill(0));
  assert.deepEqual(round("windowRewritten").codes, { ok: 16 }, "a rewrite that keeps the line keeps its count");
  assert.deepEqual(round("windowNewId").codes, { ok: 13, [dev]: 3 }, "a new id= starts a new count");
  assert.deepEqual(round("always").codes, { [dev]: 16 }, "without nth=: every call, 0xHEX accepted");
  assert.deepEqual(round("cleared").init, Array(16).fill(0), "no operation was left active");
  assert.deepEqual(round("cleared").codes, { ok: 16 });
  assert.deepEqual(round("cleared").cts, [reference]);

  assert.equal(r.decFail, CKR.CKR_DEVICE_ERROR);
  assert.equal(r.decReinit, 0, "a failed C_Decrypt ends the decryption too");
  assert.equal(r.decFail2, CKR.CKR_DEVICE_ERROR);
  assert.deepEqual(buf(r.decAfter), buf(r.plaintext));

  // What SoftHSM itself does for an empty plaintext, which the shim copies:
  assert.deepEqual(r.realEmptyPlaintext, { code: CKR.CKR_ARGUMENTS_BAD, reinit: CKR.CKR_OPERATION_ACTIVE });
  assert.equal(r.argsBad, CKR.CKR_ARGUMENTS_BAD);
  assert.equal(r.argsBadReinit, CKR.CKR_OPERATION_ACTIVE, "CKR_ARGUMENTS_BAD leaves the operation active");
  assert.equal(r.argsBadAfter, reference, "the retried C_Encrypt completes the original operation");

  assert.deepEqual(r.names, Object.fromEntries(REQUIRED_CKR_NAMES.map((n) => [n, CKR[n]])));
  assert.equal(r.vendor, 0x80000123);
  assert.deepEqual(r.star, [CKR.CKR_GENERAL_ERROR, CKR.CKR_GENERAL_ERROR, CKR.CKR_GENERAL_ERROR]);
  assert.deepEqual(r.list, [CKR.CKR_FUNCTION_FAILED, CKR.CKR_FUNCTION_FAILED, 0]);
  const s = stats(r);
  assert.equal(s.faults.C_Encrypt, 1 + 3 + 3 + 16 + 1);
  assert.equal(s.faults.C_Decrypt, 2);
  assert.equal(s.faults.C_GenerateRandom, REQUIRED_CKR_NAMES.length + 1);
});

test("control fail with SLOWHSM_IV_MODE=append: an error ends the operation and its IV, CKR_ARGUMENTS_BAD keeps both", () => {
  const r = runProbe(["ctl-append"], controlEnv({ SLOWHSM_IV_MODE: "append" }));
  const pt = buf(r.plaintext);
  assert.equal(r.failCode, CKR.CKR_DEVICE_ERROR);
  assert.equal(r.reinitAfterFail, 0);
  for (const k of ["out1", "out2"]) {
    const o = buf(r[k]);
    assert.equal(o.length, pt.length + 16 + 12);
    assert.deepEqual(gcmOpen(r, o.subarray(o.length - 12), o.subarray(0, o.length - 12)), pt, k);
  }
  assert.equal(r.argsBad, CKR.CKR_ARGUMENTS_BAD);
  assert.equal(r.reinitAfterArgsBad, CKR.CKR_OPERATION_ACTIVE);
});

test("control hang: 32 matching calls block, other calls proceed, removing the line releases them", () => {
  const n = 32;
  const r = runProbe(["ctl-hang", String(n)], controlEnv({ UV_THREADPOOL_SIZE: String(n + 8) }));
  const whileHung = r.whileHung as SlowHsmStats;
  assert.equal(whileHung.hanging, n, "all calls are hanging at once");
  assert.ok(whileHung.in_flight >= n);
  assert.deepEqual(r.othersSync, [0, 0, 0], "sync calls on the main thread are not blocked");
  const sha = crypto.createHash("sha256").update(buf(r.plaintext)).digest("hex");
  assert.deepEqual(r.digests, Array(4).fill({ ok: sha }), "async calls on other pool threads complete");
  assert.deepEqual(r.afterRewrite, { ok: sha });
  assert.equal(r.settledWhileHung, 0, "no hanging call completed while the line was present");
  assert.deepEqual(r.released, Array(n).fill({ ok: r.reference }), "released calls complete normally");
  assert.equal((r.afterRelease as SlowHsmStats).hanging, 0);
  const s = stats(r);
  assert.ok(s.max_hanging >= n && s.max_in_flight >= n, `max_hanging ${s.max_hanging}, max_in_flight ${s.max_in_flight}`);
  assert.deepEqual(s.faults, {});
});

test("control delay: adds to SLOWHSM_DELAY_MS, changes at run time, overlaps across concurrent calls", () => {
  const n = 8;
  const r = runProbe(["ctl-delay", String(n)], controlEnv({ SLOWHSM_DELAY_MS: "20", UV_THREADPOOL_SIZE: String(n) }));
  assert.ok((r.ms150 as number) >= 170, `C_GenerateRandom with delay 150 took ${r.ms150} ms`);
  assert.ok((r.ms40 as number) >= 60, `after the change to 40: ${r.ms40} ms`);
  assert.ok((r.ms0 as number) >= 20, `after removal: ${r.ms0} ms`);
  assert.deepEqual(buf(r.decrypted), buf(r.plaintext));
  const sha = crypto.createHash("sha256").update(buf(r.plaintext)).digest("hex");
  assert.deepEqual(r.digests, Array(n).fill({ ok: sha }));
  const s = stats(r);
  const ms = 1_000_000;
  assert.equal(s.delayed.C_GenerateRandom, 3);
  assert.equal(s.delay_ns.C_GenerateRandom, (20 + 150 + 20 + 40 + 20) * ms);
  assert.equal(s.delay_ns.C_EncryptInit, (20 + 1) * ms, "delay * 1");
  assert.equal(s.delay_ns.C_Encrypt, (20 + 5 + 1) * ms, "comma list + *");
  assert.equal(s.delay_ns.C_DecryptInit, (20 + 1) * ms);
  assert.equal(s.delay_ns.C_Decrypt, (20 + 5 + 1) * ms);
  assert.equal(s.delay_ns.C_Digest, n * (20 + 300) * ms);
  assert.ok(s.max_sleeping >= n, `max_sleeping ${s.max_sleeping}`);
});

test("control lose_login: session calls answer CKR_USER_NOT_LOGGED_IN until C_Login succeeds", () => {
  const r = runProbe(["ctl-lose-login", "16"], controlEnv({ UV_THREADPOOL_SIZE: "16" }));
  const nli = CKR.CKR_USER_NOT_LOGGED_IN;
  assert.equal(r.stateBefore, CKS_RW_USER_FUNCTIONS);
  assert.deepEqual(r.burst, { [String(nli)]: 16 }, "16 concurrent C_Encrypt");
  assert.deepEqual(r.refused, {
    encrypt: nli, encryptInit: nli, findObjectsInit: nli, getAttributeValue: nli, generateKey: nli,
    generateRandom: nli, newSession: nli,
  });
  assert.equal(r.stateLost, CKS_RW_PUBLIC_SESSION, "C_GetSessionInfo still works and shows the lost login");
  assert.equal(r.rawStateLost, CKS_RW_PUBLIC_SESSION, "the real module was logged out");
  assert.equal(r.login, 0);
  assert.equal(r.stateAfterLogin, CKS_RW_USER_FUNCTIONS);
  assert.equal(r.oldHandle, CKR.CKR_OBJECT_HANDLE_INVALID, "SoftHSM dropped private handles at the real logout");
  assert.equal(r.reinitB, 0, "the refused C_Encrypt ended its operation");
  assert.deepEqual(r.reinitPool, Array(16).fill(0));
  assert.deepEqual(r.burstAfterLogin, { ok: 16 });
  assert.equal(r.rewritten, 0, "a change that keeps the line does not log out again");
  assert.equal(r.newId, nli, "a new id= does");
  assert.equal(r.newIdLogin, 0);
  assert.equal(r.removed, 0);
  assert.equal(r.readded, nli, "removing the line and adding it back does");
  assert.equal(r.readdedLogin, 0);
  assert.equal(r.otherSlot, 0, "slot= limits it to that slot");
  assert.equal(r.final, 0);
});

test("control invalidate_sessions: open sessions answer CKR_SESSION_HANDLE_INVALID and are closed; new ones work", () => {
  const r = runProbe(["ctl-invalidate", "16"], controlEnv({ UV_THREADPOOL_SIZE: "16" }));
  const inv = CKR.CKR_SESSION_HANDLE_INVALID;
  assert.deepEqual(r.burst, { [String(inv)]: 16 }, "16 concurrent C_Encrypt on invalidated sessions");
  assert.equal(r.a, inv);
  assert.equal(r.b, inv);
  assert.equal(r.main, inv);
  assert.equal(r.rawA, inv, "closed in the real module");
  assert.equal(r.rawB, inv, "closed in the real module, so its operation ended");
  assert.deepEqual(r.rawPool, Array(16).fill(inv));
  assert.equal(r.cState, CKS_RW_USER_FUNCTIONS, "a new session works and the login was kept");
  assert.deepEqual(gcmOpen(r, POOL_IV, buf(r.cCt), buf(r.tokenKey)), buf(r.plaintext));
  assert.equal(r.closeA, inv);
  assert.equal(r.cAfterRewrite, 0, "a change that keeps the line does not invalidate again");
  assert.equal(r.cAfterNewId, inv, "a new id= does");
  assert.equal(r.d, 0);
  assert.equal(r.dState, CKS_RW_USER_FUNCTIONS);
});

test("control remove_token: the token disappears and comes back; its old sessions stay invalid", () => {
  const r = runProbe(["ctl-remove", "16"], controlEnv({ UV_THREADPOOL_SIZE: "16" }));
  const other = r.otherRemoved as { present: string[]; a: number };
  assert.ok(other.present.includes(r.slot as string) && !other.present.includes(r.otherSlot as string), "slot=");
  assert.equal(other.a, 0);
  assert.deepEqual(r.present, [], "C_GetSlotList(TRUE) omits the slots");
  assert.ok((r.all as string[]).includes(r.slot as string), "C_GetSlotList(FALSE) still lists the slot");
  assert.equal(r.tokenPresentFlag, false);
  assert.equal(r.tokenInfo, CKR.CKR_TOKEN_NOT_PRESENT);
  assert.equal(r.openSession, CKR.CKR_TOKEN_NOT_PRESENT);
  assert.equal(r.mechanisms, CKR.CKR_TOKEN_NOT_PRESENT);
  assert.deepEqual(r.burst, { [String(CKR.CKR_DEVICE_REMOVED)]: 16 });
  assert.equal(r.a, CKR.CKR_DEVICE_REMOVED);
  assert.equal(r.rawA, CKR.CKR_SESSION_HANDLE_INVALID, "closed in the real module");
  assert.ok((r.presentBack as string[]).includes(r.slot as string), "back after the line is removed");
  assert.equal(r.tokenPresentFlagBack, true);
  assert.equal(r.aBack, CKR.CKR_SESSION_HANDLE_INVALID);
  assert.deepEqual(r.poolBack, Array(16).fill(CKR.CKR_SESSION_HANDLE_INVALID));
  assert.equal(r.cState, CKS_RW_PUBLIC_SESSION, "re-inserted token: logged out");
  assert.equal(r.cLogin, 0);
  assert.deepEqual(gcmOpen(r, POOL_IV, buf(r.cCt), buf(r.tokenKey)), buf(r.plaintext));
});

test("control: malformed lines are reported with their line number and ignored, the rest applies", () => {
  const r = runProbe(["ctl-bad"], controlEnv());
  assert.equal(r.good, CKR.CKR_PIN_LOCKED, "the valid line in the same file applies");
  const expected: [number, RegExp][] = [
    [3, /unknown directive 'bogus_directive'/],
    [4, /unknown function 'C_Nope'/],
    [5, /unknown return value 'CKR_NOPE'/],
    [6, /nth=0/],
    [7, /bad delay '5ms'/],
    [8, /hang: missing argument/],
    [9, /CKR_OK is not a failure/],
    [10, /slot=abc/],
    [11, /unknown option 'color'/],
  ];
  const reported = r.stderr.split("\n").filter((l) => l.startsWith("slowhsm: control: line "));
  for (const [line, re] of expected) {
    const hits = reported.filter((l) => l.startsWith(`slowhsm: control: line ${line}: `));
    assert.equal(hits.length, 1, `line ${line} reported once: ${reported.join(" | ")}`);
    assert.match(hits[0]!, re);
  }
  // Nothing else from the first file (comment, empty line, the good line);
  // then the two bad lines of the garbage file.
  assert.equal(reported.length, expected.length + 2, reported.join(" | "));
  assert.match(reported[expected.length]!, /^slowhsm: control: line 1: control character/);
  assert.match(reported[expected.length + 1]!, /^slowhsm: control: line 2: control character/);
  const bad = r.statsBad as SlowHsmStats;
  assert.equal(bad.control.errors, 9);
  assert.equal(bad.control.directives, 1);
  // Binary garbage, an oversized file and a deleted file: no crash, no faults.
  assert.equal(r.afterGarbage, 0);
  assert.equal(r.afterHuge, 0);
  assert.equal(r.afterRemove, 0);
  assert.match(r.stderr, /larger than 1 MiB/);
  const s = stats(r);
  assert.equal(s.faults.C_GenerateRandom, 1);
});
