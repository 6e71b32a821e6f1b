/**
 * Tests for the slowhsm PKCS#11 shim (test/fixtures/slowhsm): pass-through, the
 * nShield/CloudHSM ("zero") and Luna ("append") GCM IV behaviours, the per-call
 * delay and fault injection, all over a private SoftHSM2 token.
 *
 * The shim reads its SLOWHSM_* configuration once, when it is loaded, so every
 * scenario runs in a fresh process (test/fixtures/slowhsm/probe.mjs) that prints JSON.
 *
 *   node --import tsx --test test/hsm/slowhsm.test.ts
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const fixture = path.join(repo, "test/fixtures/slowhsm");
const probe = path.join(fixture, "probe.mjs");

const CKR_DEVICE_ERROR = 0x30;
const CKR_MECHANISM_PARAM_INVALID = 0x71;
const CKR_OPERATION_ACTIVE = 0x90;
const CKR_BUFFER_TOO_SMALL = 0x150;

let tmp = "";
let so = "";
let conf = "";

before(() => {
  so = execFileSync("bash", [path.join(fixture, "build.sh")], { encoding: "utf8" }).trim();
  assert.ok(path.isAbsolute(so) && fs.existsSync(so), `build.sh printed ${so}`);

  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "slowhsm-test-"));
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
  [k: string]: unknown;
}

/** Runs one probe scenario in a fresh node process with the given SLOWHSM_* env. */
function runProbe(args: string[], env: Record<string, string>): ProbeResult {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("SLOWHSM_")) base[k] = v;
  const stdout = execFileSync(process.execPath, [probe, ...args], {
    env: { ...base, SOFTHSM2_CONF: conf, SLOWHSM_SO: so, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  return JSON.parse(stdout) as ProbeResult;
}

const buf = (hex: unknown): Buffer => {
  assert.equal(typeof hex, "string");
  return Buffer.from(hex as string, "hex");
};

/** Independent AES-256-GCM check with node:crypto (the probe's key is extractable). */
function gcmOpen(r: ProbeResult, iv: Buffer, ctAndTag: Buffer): Buffer {
  const d = crypto.createDecipheriv("aes-256-gcm", buf(r.key), iv);
  d.setAAD(buf(r.aad));
  d.setAuthTag(ctAndTag.subarray(ctAndTag.length - 16));
  return Buffer.concat([d.update(ctAndTag.subarray(0, ctAndTag.length - 16)), d.final()]);
}

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
  assert.equal(r.nonZeroIvCode, CKR_MECHANISM_PARAM_INVALID);
  assert.equal(r.nonZeroIvUnchanged, "000000000000000000000001", "refused IV must not be modified");
  assert.equal(r.wrongLenIvCode, CKR_MECHANISM_PARAM_INVALID);
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
  assert.equal(r.shortBufferCode, CKR_BUFFER_TOO_SMALL, "buffer of len+16+11");
  assert.equal(r.tinyBufferCode, CKR_BUFFER_TOO_SMALL, "buffer smaller than the IV");
  const out2 = buf(r.out2);
  assert.equal(out2.length, pt.length + 16 + 12);
  assert.notDeepEqual(out2.subarray(out2.length - 12), iv, "IV reused across C_EncryptInit");
  assert.deepEqual(gcmOpen(r, out2.subarray(out2.length - 12), out2.subarray(0, out2.length - 12)), pt);
  assert.equal(r.nonEmptyIvCode, CKR_MECHANISM_PARAM_INVALID);
});

test("delay: 20 ms per C_Encrypt, 8 concurrent async calls do not serialise", () => {
  const r = runProbe(["delay", "8"], { SLOWHSM_DELAY_MS: "20", UV_THREADPOOL_SIZE: "8" });
  assert.ok((r.syncMs as number) >= 20, `sync C_Encrypt took ${r.syncMs} ms`);
  assert.ok((r.initMs as number) < 20, `C_EncryptInit (not delayed) took ${r.initMs} ms`);
  assert.deepEqual(r.concurrentLens, Array(8).fill(buf(r.plaintext).length + 16));
  assert.ok((r.concurrentMs as number) >= 20, `8 concurrent took ${r.concurrentMs} ms`);
  assert.ok((r.concurrentMs as number) < 100, `8 concurrent took ${r.concurrentMs} ms (serialised would be 160)`);
});

test("delay: 32 threads can sleep in the shim at once", () => {
  const r = runProbe(["delay", "32"], { SLOWHSM_DELAY_MS: "20", UV_THREADPOOL_SIZE: "32" });
  assert.deepEqual(r.concurrentLens, Array(32).fill(buf(r.plaintext).length + 16));
  assert.ok((r.concurrentMs as number) < 100, `32 concurrent took ${r.concurrentMs} ms (serialised would be 640)`);
});

test("delay: fractional milliseconds and an explicit call list", () => {
  const r = runProbe(["delay", "2"], { SLOWHSM_DELAY_MS: "0.5", SLOWHSM_DELAY_CALLS: "C_EncryptInit" });
  assert.ok((r.initMs as number) >= 0.5, `C_EncryptInit took ${r.initMs} ms`);
  assert.ok((r.syncMs as number) < 20, `C_Encrypt (not delayed) took ${r.syncMs} ms`);
});

test("fail: SLOWHSM_FAIL=C_Encrypt makes C_Encrypt return CKR_DEVICE_ERROR, toggled at run time", () => {
  const r = runProbe(["fail"], {});
  assert.equal(r.failCode, CKR_DEVICE_ERROR);
  assert.equal(r.failAsyncCode, CKR_DEVICE_ERROR);
  // The injected error never reached SoftHSM: its operation is still active.
  assert.equal(r.reinitCode, CKR_OPERATION_ACTIVE);
  assert.equal(r.after, r.before, "pending C_Encrypt completes once SLOWHSM_FAIL is cleared");
  assert.equal(r.openSessionCode, CKR_DEVICE_ERROR);
  assert.equal(r.encryptInitWhileOtherFail, 0);
});

test("fail: SLOWHSM_FAIL set at load time", () => {
  assert.throws(
    () => runProbe(["none"], { SLOWHSM_FAIL: "C_Encrypt" }),
    (e: Error & { stderr?: string }) => /CKR_DEVICE_ERROR/.test(String(e.stderr)),
  );
});

test("bad configuration is refused at load", () => {
  const bad: Record<string, string>[] = [
    { SLOWHSM_IV_MODE: "bogus" },
    { SLOWHSM_DELAY_MS: "5ms" },
    { SLOWHSM_DELAY_CALLS: "C_Nope" },
  ];
  for (const env of bad) {
    assert.throws(
      () => runProbe(["none"], env),
      (e: Error & { stderr?: string }) => /slowhsm: /.test(String(e.stderr)),
      JSON.stringify(env),
    );
  }
});
