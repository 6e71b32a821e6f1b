/**
 * Tests for the xkshsm native PKCS#11 driver (native/xkshsm.c, src/hsm/pkcs11/native.ts):
 * in this process against a private SoftHSM2 token (results cross-checked with pkcs11js and
 * node:crypto), and in child processes through the slowhsm shim (test/fixtures/slowhsm), which
 * reads its SLOWHSM_* configuration once per process: calls overlap on the driver's own threads
 * while the event loop keeps running, a hung call blocks only its worker, and the process exits
 * by itself (or on process.exit) as it should.
 *
 *   node --import tsx --test test/hsm/native-driver.test.ts
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pkcs11js from "pkcs11js";
import { ROOT, slowHsmLibrary } from "../helpers/serve-process.js";
import { createTestToken, removeTestToken, SOFTHSM_LIB, type TestToken } from "../helpers/softhsm.js";
import { aesKeyTemplate } from "../../src/hsm/pkcs11/aes-key-template.js";
import {
  boolAttr,
  CKA_ENCRYPT,
  CKA_EXTRACTABLE,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_SENSITIVE,
  CKA_TOKEN,
  CKA_VALUE,
  CKA_VALUE_LEN,
  CKF_TOKEN_INITIALIZED,
  CKK_AES,
  CKM_AES_KEY_GEN,
  CKS_RW_USER_FUNCTIONS,
  nativeAddonPath,
  openLibrary,
  readBool,
  readUlong,
  stringAttr,
  type Attr,
  WATCH_QUEUE_US,
  type NativeLibrary,
} from "../../src/hsm/pkcs11/native.js";
import { tempDir } from "../helpers/tmp.js";

const probe = path.join(ROOT, "test/hsm/native-probe.mjs");

const CKR_SLOT_ID_INVALID = 0x3;
const CKR_KEY_HANDLE_INVALID = 0x60;
const CKR_OBJECT_HANDLE_INVALID = 0x82;
const CKR_PIN_INCORRECT = 0xa0;
const CKR_SESSION_HANDLE_INVALID = 0xb3;
const CKR_CRYPTOKI_NOT_INITIALIZED = 0x190;
const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;
const CKR_USER_ALREADY_LOGGED_IN = 0x100;

let token: TestToken;
let addonPath = "";
let slowhsm = "";
let lib: NativeLibrary;
let slot = 0;
let session = 0;
let key = 0;

before(() => {
  addonPath = execFileSync("bash", [path.join(ROOT, "native/build.sh")], { encoding: "utf8" }).trim();
  // XKSHSM_ADDON: test/hsm/sanitizers.test.ts runs this file on the sanitized build.
  assert.equal(nativeAddonPath(), process.env.XKSHSM_ADDON || addonPath);
  slowhsm = slowHsmLibrary();
  // Sets SOFTHSM2_CONF before any PKCS#11 module is loaded in this process.
  token = createTestToken("xks-native", "1234");
  lib = openLibrary(SOFTHSM_LIB, { threads: 4 });
});

after(() => {
  if (token) removeTestToken(token);
});

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error & { code?: unknown; method?: unknown }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: unknown; method?: unknown };
  }
  assert.fail("expected the call to reject");
}

function assertCkError(e: Error & { code?: unknown; method?: unknown }, method: string, codes: number[]): void {
  assert.ok(e instanceof Error, "an Error");
  assert.equal(e.method, method);
  assert.ok(codes.includes(e.code as number), `${method} code ${String(e.code)} not in ${codes.map((c) => "0x" + c.toString(16)).join("/")}`);
  assert.equal(e.message, `${method} returned 0x${(e.code as number).toString(16).padStart(8, "0")}`);
}

const handleBuf = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

// ---------------------------------------------------------------- loading --

test("native.ts loads the addon lazily and names the build command when it is missing", async () => {
  // A copy of native.ts under an empty package root: importing it must not throw; the first
  // openLibrary() must, with the fix in the message.
  const root = tempDir("xkshsm-missing-");
  const override = process.env.XKSHSM_ADDON;
  delete process.env.XKSHSM_ADDON;
  try {
    const copy = path.join(root, "src/hsm/pkcs11/native.ts");
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.mkdirSync(path.join(root, "src/platform"), { recursive: true });
    fs.copyFileSync(path.join(ROOT, "src/hsm/pkcs11/native.ts"), copy);
    fs.copyFileSync(path.join(ROOT, "src/platform/package-root.ts"), path.join(root, "src/platform/package-root.ts"));
    fs.writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "xksctl" }));
    const mod = (await import(pathToFileURL(copy).href)) as typeof import("../../src/hsm/pkcs11/native.js");
    assert.equal(mod.nativeAddonPath(), path.join(root, "native/build/Release/xkshsm.node"));
    assert.throws(
      () => mod.openLibrary(SOFTHSM_LIB, { threads: 1 }),
      (e: Error & { code?: string }) => e.code === "XKS_NATIVE_MISSING" && /npm run build:native/.test(e.message) && /bash native\/build\.sh/.test(e.message),
    );
  } finally {
    if (override !== undefined) process.env.XKSHSM_ADDON = override;
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("openLibrary: load failures throw XKS_DLOPEN with the dlerror() text", () => {
  const dir = tempDir("xkshsm-dlopen-");
  try {
    const elf32 = path.join(dir, "elf32.so");
    const header = Buffer.alloc(64);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1 /* ELFCLASS32 */, 1, 1]).copy(header);
    fs.writeFileSync(elf32, header);
    const text = path.join(dir, "text.so");
    fs.writeFileSync(text, "not a shared object\n".repeat(8));
    const cases: [string, RegExp][] = [
      [path.join(dir, "missing.so"), /missing\.so: cannot open shared object file: No such file or directory/],
      [elf32, /wrong ELF class: ELFCLASS32/],
      [text, /invalid ELF header/],
      [addonPath, /does not export C_GetFunctionList/], // a real .so, but not PKCS#11
    ];
    for (const [p, re] of cases) {
      assert.throws(
        () => openLibrary(p, { threads: 1 }),
        (e: Error & { code?: string }) => e.code === "XKS_DLOPEN" && re.test(e.message),
        p,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("bad arguments throw a TypeError synchronously and queue nothing", () => {
  const b = Buffer.alloc(12);
  const calls: [string, () => unknown][] = [
    ["openLibrary no path", () => openLibrary("", { threads: 1 })],
    ["openLibrary threads 0", () => openLibrary(SOFTHSM_LIB, { threads: 0 })],
    ["openLibrary threads 257", () => openLibrary(SOFTHSM_LIB, { threads: 257 })],
    ["openLibrary watchUs 1001", () => openLibrary(SOFTHSM_LIB, { threads: 1, watchUs: 1001 })],
    ["openLibrary watchUs -1", () => openLibrary(SOFTHSM_LIB, { threads: 1, watchUs: -1 })],
    ["openLibrary no opts", () => (openLibrary as (p: string) => unknown)(SOFTHSM_LIB)],
    ["slots string", () => lib.slots("yes" as unknown as boolean)],
    ["openSession string", () => lib.openSession("1" as unknown as number)],
    ["openSession negative", () => lib.openSession(-1)],
    ["openSession fraction", () => lib.openSession(1.5)],
    ["openSession 2^53", () => lib.openSession(2 ** 53)],
    ["openSession NaN", () => lib.openSession(NaN)],
    ["openSession missing", () => (lib.openSession as () => unknown)()],
    ["login string PIN", () => lib.login(1, "1234" as unknown as Buffer)],
    ["login Uint16Array PIN", () => lib.login(1, new Uint16Array(2) as unknown as Buffer)],
    ["findObjects attr without value", () => lib.findObjects(1, [[3]] as unknown as Attr[], 1)],
    ["findObjects string value", () => lib.findObjects(1, [[3, "x"]] as unknown as Attr[], 1)],
    ["findObjects template object", () => lib.findObjects(1, {} as unknown as Attr[], 1)],
    ["findObjects max 0", () => lib.findObjects(1, [], 0)],
    ["getAttributes string type", () => lib.getAttributes(1, 1, ["x" as unknown as number])],
    ["generateRandom negative", () => lib.generateRandom(1, -1)],
    ["generateRandom huge", () => lib.generateRandom(1, 2 ** 40)],
    ["generateKey bad template", () => lib.generateKey(1, CKM_AES_KEY_GEN, [[CKA_TOKEN, true]] as unknown as Attr[])],
    ["encryptGcm string iv", () => lib.encryptGcm(1, 1, "iv" as unknown as Buffer, b, b, 28)],
    ["encryptGcm negative outLength", () => lib.encryptGcm(1, 1, b, b, b, -1)],
    ["decryptGcm missing input", () => (lib.decryptGcm as (...a: unknown[]) => unknown)(1, 1, b, b)],
    ["method on a foreign object", () => lib.openSession.call({} as NativeLibrary, 1)],
    ["detached method", () => (0, lib.inFlight)()],
  ];
  for (const [name, call] of calls) assert.throws(call, TypeError, name);
  assert.equal(lib.pending(), 0);
});

// ------------------------------------------------------------- SoftHSM ----

test("initialize (twice), info, and slots finds the token by label", async () => {
  await lib.initialize();
  await lib.initialize(); // CKR_CRYPTOKI_ALREADY_INITIALIZED resolves
  const info = await lib.info();
  assert.equal(info.manufacturerId, "SoftHSM");
  assert.match(info.cryptokiVersion, /^2\.\d+$/);
  assert.match(info.libraryVersion, /^\d+\.\d+$/);
  const slots = await lib.slots(true);
  const ours = slots.filter((s) => s.token?.label === token.label);
  assert.equal(ours.length, 1, JSON.stringify(slots));
  const t = ours[0]!.token!;
  assert.equal(t.flags & CKF_TOKEN_INITIALIZED, CKF_TOKEN_INITIALIZED);
  assert.equal(t.model, "SoftHSM v2");
  assert.match(t.serialNumber, /^[0-9a-f]{16}$/);
  assert.match(t.firmwareVersion, /^\d+\.\d+$/);
  assert.ok(Number.isSafeInteger(ours[0]!.slot));
  slot = ours[0]!.slot;
  // SoftHSM always adds one empty, uninitialised token after the initialised ones.
  assert.ok(slots.some((s) => s.token && (s.token.flags & CKF_TOKEN_INITIALIZED) === 0));
});

test("openSession, wrong PIN rejects 0xa0 from C_Login, right PIN logs in", async () => {
  session = await lib.openSession(slot);
  assertCkError(await rejection(lib.login(session, Buffer.from("0000"))), "C_Login", [CKR_PIN_INCORRECT]);
  await lib.login(session, Buffer.from(token.pin));
  await lib.login(session, Buffer.from(token.pin)); // CKR_USER_ALREADY_LOGGED_IN resolves
  const si = await lib.sessionInfo(session);
  assert.deepEqual(si, { slot, state: CKS_RW_USER_FUNCTIONS, flags: 6, deviceError: 0 });
  assertCkError(await rejection(lib.openSession(2 ** 53 - 1)), "C_OpenSession", [CKR_SLOT_ID_INVALID]);
});

test("generateKey AES-256, findObjects by label, getAttributes with a sensitive CKA_VALUE as null", async () => {
  key = await lib.generateKey(session, CKM_AES_KEY_GEN, aesKeyTemplate("native-k1", false));
  assert.ok(Number.isSafeInteger(key) && key > 0);
  assert.deepEqual(await lib.findObjects(session, [stringAttr(CKA_LABEL, "native-k1")], 10), [key]);
  assert.deepEqual(await lib.findObjects(session, [stringAttr(CKA_LABEL, "no-such-key")], 10), []);
  const [type, len, enc, value, bogus] = await lib.getAttributes(session, key, [CKA_KEY_TYPE, CKA_VALUE_LEN, CKA_ENCRYPT, CKA_VALUE, 0x7fff0001]);
  assert.equal(readUlong(type!), CKK_AES);
  assert.equal(readUlong(len!), 32);
  assert.equal(readBool(enc!), true);
  assert.equal(value, null, "sensitive CKA_VALUE");
  assert.equal(bogus, null, "attribute type the object does not have");
  assert.deepEqual(await lib.getAttributes(session, key, []), []);
  assertCkError(await rejection(lib.getAttributes(session, 0x7ffffff0, [CKA_KEY_TYPE])), "C_GetAttributeValue", [CKR_OBJECT_HANDLE_INVALID]);
});

test("findObjects stops at max and always ends the search", async () => {
  const made = [];
  for (let i = 0; i < 3; i++) made.push(await lib.generateKey(session, CKM_AES_KEY_GEN, aesKeyTemplate("native-dup", false)));
  const two = await lib.findObjects(session, [stringAttr(CKA_LABEL, "native-dup")], 2);
  assert.equal(two.length, 2);
  // Without C_FindObjectsFinal the next C_FindObjectsInit would fail with CKR_OPERATION_ACTIVE.
  const all = await lib.findObjects(session, [stringAttr(CKA_LABEL, "native-dup")], 100);
  assert.deepEqual([...all].sort(), [...made].sort());
  for (const h of made) await lib.destroyObject(session, h);
  assert.deepEqual(await lib.findObjects(session, [stringAttr(CKA_LABEL, "native-dup")], 100), []);
  assertCkError(await rejection(lib.destroyObject(session, made[0]!)), "C_DestroyObject", [CKR_OBJECT_HANDLE_INVALID]);
});

test("generateRandom returns the requested number of bytes", async () => {
  const a = await lib.generateRandom(session, 32);
  const b = await lib.generateRandom(session, 32);
  assert.equal(a.length, 32);
  assert.notDeepEqual(a, b);
  assert.equal((await lib.generateRandom(session, 1000)).length, 1000);
  assert.equal((await lib.generateRandom(session, 0)).length, 0);
});

test("encryptGcm + decryptGcm round trip; tampered tag fails in C_Decrypt; bad key fails in C_EncryptInit", async () => {
  const pt = Buffer.from("the quick brown fox jumps over the lazy dog");
  const aad = crypto.randomBytes(64);
  const iv = await lib.generateRandom(session, 12);
  const { output, iv: ivAfter } = await lib.encryptGcm(session, key, iv, aad, pt, pt.length + 16);
  assert.equal(output.length, pt.length + 16);
  assert.deepEqual(ivAfter, iv, "a caller IV comes back unchanged");
  assert.notDeepEqual(output.subarray(0, pt.length), pt);
  assert.deepEqual(await lib.decryptGcm(session, key, iv, aad, output, output.length), pt);
  // A bigger output buffer than needed: only the written bytes come back.
  assert.equal((await lib.encryptGcm(session, key, iv, aad, pt, pt.length + 100)).output.length, pt.length + 16);
  // Empty plaintext and AAD: just the tag.
  const empty = await lib.encryptGcm(session, key, iv, Buffer.alloc(0), Buffer.alloc(0), 16);
  assert.equal(empty.output.length, 16);
  assert.equal((await lib.decryptGcm(session, key, iv, Buffer.alloc(0), empty.output, 16)).length, 0);

  const tampered = Buffer.from(output);
  tampered[tampered.length - 1]! ^= 1;
  const e = await rejection(lib.decryptGcm(session, key, iv, aad, tampered, tampered.length));
  assert.equal(e.method, "C_Decrypt");
  assert.match(e.message, /^C_Decrypt returned 0x[0-9a-f]{8}$/);
  assert.notEqual(e.code, 0);
  const wrongAad = await rejection(lib.decryptGcm(session, key, iv, Buffer.from("other"), output, output.length));
  assert.equal(wrongAad.method, "C_Decrypt");

  assertCkError(await rejection(lib.encryptGcm(session, 0x7ffffff0, iv, aad, pt, pt.length + 16)), "C_EncryptInit", [CKR_KEY_HANDLE_INVALID, CKR_OBJECT_HANDLE_INVALID]);
  assertCkError(await rejection(lib.decryptGcm(session, 0x7ffffff0, iv, aad, output, output.length)), "C_DecryptInit", [CKR_KEY_HANDLE_INVALID, CKR_OBJECT_HANDLE_INVALID]);
  // The session is still usable after all of these.
  assert.deepEqual(await lib.decryptGcm(session, key, iv, aad, output, output.length), pt);
});

test("bursts of calls with idle gaps around the workers' watch window (watchUs 50): every call settles, none waits for a lost wake-up", async () => {
  // With watchUs an idle worker watches the queue before it sleeps; a task queued then needs no
  // wake-up, and the worker that takes a task wakes the next sleeper while more are queued. A lost
  // wake-up leaves a call pending forever: the race below fails instead of hanging. (A second
  // library object on the same module shares its initialisation, login and key handles.)
  const lib = openLibrary(SOFTHSM_LIB, { threads: 4, watchUs: WATCH_QUEUE_US });
  const sessions = await Promise.all(Array.from({ length: 6 }, () => lib.openSession(slot)));
  const pt = Buffer.from("burst");
  const aad = Buffer.alloc(0);
  const iv = Buffer.alloc(12, 7);
  const spinFor = (us: number) => {
    const end = process.hrtime.bigint() + BigInt(Math.round(us * 1000));
    while (process.hrtime.bigint() < end);
  };
  const gapsUs = [0, 10, 30, 45, 50, 55, 70, 100, 300, 2000];
  let settled = 0;
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`calls still pending after 20 s: ${lib.pending()} (settled ${settled})`)), 20_000);
  });
  try {
    for (let round = 0; round < 600; round++) {
      const size = 1 + (round % sessions.length);
      await new Promise((r) => setImmediate(r));
      spinFor(gapsUs[round % gapsUs.length]!);
      const burst = sessions.slice(0, size).map((s) => lib.encryptGcm(s, key, iv, aad, pt, pt.length + 16).then(() => settled++));
      await Promise.race([Promise.all(burst), stuck]);
    }
  } finally {
    clearTimeout(timer);
    await Promise.all(sessions.map((s) => lib.closeSession(s)));
  }
  assert.equal(settled, Array.from({ length: 600 }, (_, r) => 1 + (r % 6)).reduce((a, b) => a + b));
  assert.equal(lib.pending(), 0);
});

test("settleReady settles calls that finished while the event loop was busy, without waiting for its next turn", async () => {
  const pt = Buffer.from("settle me");
  const iv = Buffer.alloc(12, 3);
  const blockFor = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  assert.equal(lib.settleReady(), 0, "nothing finished: nothing settled");
  assert.equal(lib.readyFlag?.[0], 0);
  const order: string[] = [];
  // Without it, a finished call waits for the event loop: one microtask turn does not see it.
  const late = lib.encryptGcm(session, key, iv, Buffer.alloc(0), pt, pt.length + 16).then(() => order.push("late"));
  blockFor(300); // the call finishes on a driver thread meanwhile (SoftHSM: well under a ms)
  await null;
  assert.equal(order.length, 0, "the event loop has not come round yet");
  await late;
  // With it: a success and a failure, both settled now, in completion order.
  const ok = lib.encryptGcm(session, key, iv, Buffer.alloc(0), pt, pt.length + 16).then(({ output }) => order.push(`ok ${output.length}`));
  blockFor(300);
  const bad = lib.encryptGcm(session, 0x7ffffff0, iv, Buffer.alloc(0), pt, pt.length + 16).catch((e: { method?: string }) => order.push(`bad ${e.method}`));
  blockFor(300);
  assert.equal(lib.readyFlag?.[0], 1, "readyFlag: finished calls wait");
  assert.equal(lib.settleReady(), 2);
  assert.equal(lib.readyFlag?.[0], 0, "readyFlag: none left");
  await null;
  assert.deepEqual(order, ["late", `ok ${pt.length + 16}`, "bad C_EncryptInit"]);
  assert.equal(lib.pending(), 0);
  assert.equal(lib.settleReady(), 0);
  await Promise.all([ok, bad]);
  // The event loop's own delivery then finds nothing left, and later calls still settle by it.
  await new Promise((r) => setImmediate(r));
  assert.equal((await lib.encryptGcm(session, key, iv, Buffer.alloc(0), pt, pt.length + 16)).output.length, pt.length + 16);
});

test("cross-check with pkcs11js: each decrypts what the other encrypted", async () => {
  const p = new pkcs11js.PKCS11();
  p.load(SOFTHSM_LIB); // the same module instance as the addon's: same key handles
  try {
    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    assert.equal((e as { code?: number }).code, CKR_CRYPTOKI_ALREADY_INITIALIZED);
  }
  // Never C_Finalize through pkcs11js: it would finalize the module for the addon too.
  const pslot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === token.label)!;
  const ps = p.C_OpenSession(pslot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    try {
      p.C_Login(ps, pkcs11js.CKU_USER, token.pin);
    } catch (e) {
      assert.equal((e as { code?: number }).code, CKR_USER_ALREADY_LOGGED_IN);
    }
    const pkey = handleBuf(key);
    const mech = (iv: Buffer, aad: Buffer): pkcs11js.Mechanism => ({
      mechanism: pkcs11js.CKM_AES_GCM,
      parameter: { type: pkcs11js.CK_PARAMS_GCM, iv, ivBits: iv.length * 8, aad, tagBits: 128 } as pkcs11js.IParams,
    });
    const pt = crypto.randomBytes(100);
    const aad = crypto.randomBytes(33);

    const iv1 = crypto.randomBytes(12);
    const ours = await lib.encryptGcm(session, key, iv1, aad, pt, pt.length + 16);
    p.C_DecryptInit(ps, mech(iv1, aad), pkey);
    assert.deepEqual(Buffer.from(p.C_Decrypt(ps, ours.output, Buffer.alloc(ours.output.length))), pt);

    const iv2 = crypto.randomBytes(12);
    p.C_EncryptInit(ps, mech(iv2, aad), pkey);
    const theirs = Buffer.from(p.C_Encrypt(ps, pt, Buffer.alloc(pt.length + 16)));
    assert.deepEqual(await lib.decryptGcm(session, key, iv2, aad, theirs, theirs.length), pt);
    // Same key, IV and AAD: byte-identical ciphertexts.
    assert.deepEqual((await lib.encryptGcm(session, key, iv2, aad, pt, pt.length + 16)).output, theirs);
  } finally {
    p.C_CloseSession(ps);
  }
});

test("cross-check with node:crypto through an extractable key read with getAttributes", async () => {
  const extractable = aesKeyTemplate("native-extractable", false).map(([t, v]): Attr => (t === CKA_SENSITIVE ? boolAttr(t, false) : t === CKA_EXTRACTABLE ? boolAttr(t, true) : [t, v]));
  const k = await lib.generateKey(session, CKM_AES_KEY_GEN, extractable);
  const [value] = await lib.getAttributes(session, k, [CKA_VALUE]);
  assert.equal(value?.length, 32);
  const pt = crypto.randomBytes(77);
  const aad = crypto.randomBytes(20);
  const iv = crypto.randomBytes(12);
  const { output } = await lib.encryptGcm(session, k, iv, aad, pt, pt.length + 16);
  const d = crypto.createDecipheriv("aes-256-gcm", value!, iv);
  d.setAAD(aad);
  d.setAuthTag(output.subarray(pt.length));
  assert.deepEqual(Buffer.concat([d.update(output.subarray(0, pt.length)), d.final()]), pt);
  const c = crypto.createCipheriv("aes-256-gcm", value!, iv);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
  assert.deepEqual(await lib.decryptGcm(session, k, iv, aad, ct, ct.length), pt);
  await lib.destroyObject(session, k);
});

test("logout, closeSession, finalize; calls afterwards reject with the module's CKR", async () => {
  await lib.logout(session);
  assert.equal((await lib.sessionInfo(session)).state, 2 /* CKS_RW_PUBLIC_SESSION */);
  await lib.closeSession(session);
  assertCkError(await rejection(lib.sessionInfo(session)), "C_GetSessionInfo", [CKR_SESSION_HANDLE_INVALID]);
  assertCkError(await rejection(lib.closeSession(session)), "C_CloseSession", [CKR_SESSION_HANDLE_INVALID]);
  await lib.finalize();
  assertCkError(await rejection(lib.openSession(slot)), "C_OpenSession", [CKR_CRYPTOKI_NOT_INITIALIZED]);
  assertCkError(await rejection(lib.finalize()), "C_Finalize", [CKR_CRYPTOKI_NOT_INITIALIZED]);
  assert.equal(lib.pending(), 0);
  assert.equal(lib.inFlight(), 0);
});

// ------------------------------------------------------ child processes ----

interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("SLOWHSM_")) base[k] = v;
  return {
    ...base,
    SOFTHSM2_CONF: token.conf,
    XKSHSM_NODE: nativeAddonPath(),
    XKSHSM_MODULE: slowhsm,
    PROBE_LABEL: token.label,
    PROBE_PIN: token.pin,
    ...env,
  };
}

function runNode(args: string[], env: Record<string, string>): ChildResult {
  const r = spawnSync(process.execPath, args, { env: childEnv(env), encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"] });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a native-probe.mjs scenario; it must exit 0 by itself and print one JSON object. */
function runProbe(args: string[], env: Record<string, string>, nodeArgs: string[] = []): Record<string, unknown> {
  const r = runNode([...nodeArgs, probe, ...args], env);
  assert.deepEqual({ status: r.status, signal: r.signal }, { status: 0, signal: null }, `probe ${args.join(" ")} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const probePlaintextLength = (i: number) => `native probe message #${i}`.length;

test("slowhsm, every call delayed 50 ms: 16 encryptGcm overlap on 16 threads while the event loop ticks", () => {
  const r = runProbe(["overlap", "16", "16"], { SLOWHSM_DELAY_CALLS: "*", SLOWHSM_DELAY_MS: "50" });
  assert.equal(r.pendingAtSubmit, 16);
  assert.equal(r.maxInFlightEncrypt, 16, "all 16 calls inside the module at once");
  // Synchronous PKCS#11 calls would block the loop for the whole batch: 0 ticks.
  assert.ok((r.ticksDuringEncrypt as number) >= 3, `setInterval ticked ${String(r.ticksDuringEncrypt)} times during the batch`);
  assert.equal(r.pendingAfter, 0);
  assert.deepEqual(r.outputLengths, Array.from({ length: 16 }, (_, i) => probePlaintextLength(i) + 16));
  assert.equal(r.ivsUnchanged, true);
  assert.equal(r.roundTrips, true);
  assert.equal(r.distinctCiphertexts, 16);
});

test("slowhsm: 12 tasks on 4 threads queue, at most 4 calls in the module at once", () => {
  const r = runProbe(["overlap", "12", "4"], { SLOWHSM_DELAY_CALLS: "*", SLOWHSM_DELAY_MS: "20" });
  assert.equal(r.pendingAtSubmit, 12);
  assert.equal(r.maxInFlightEncrypt, 4);
  assert.equal(r.pendingAfter, 0);
  assert.equal(r.roundTrips, true);
});

test("slowhsm IV modes: a zero IV comes back as the HSM's IV; an empty IV is passed as NULL and appended", () => {
  const zero = runProbe(["ivmode"], { SLOWHSM_IV_MODE: "zero" });
  assert.equal(zero.outputLength, probePlaintextLength(0) + 16);
  assert.match(zero.iv as string, /^[0-9a-f]{24}$/);
  assert.notEqual(zero.iv, "0".repeat(24));
  assert.equal(zero.roundTrip, true);
  const append = runProbe(["ivmode"], { SLOWHSM_IV_MODE: "append" });
  assert.equal(append.outputLength, probePlaintextLength(0) + 16 + 12);
  assert.equal(append.ivLength, 0);
  assert.equal(append.roundTrip, true);
});

test("a CLI-like process (await open, initialize, slots, finalize) exits by itself with code 0", () => {
  // ESM with top-level await: if the pending calls did not keep the loop alive, node would exit
  // with code 13 (unsettled top-level await); if the idle library kept it alive, it would hang.
  const script = `
    import { createRequire } from "node:module";
    const { openLibrary } = createRequire(process.env.XKSHSM_NODE)(process.env.XKSHSM_NODE);
    globalThis.lib = openLibrary(process.env.XKSHSM_MODULE, { threads: 2 });
    await lib.initialize();
    const slots = await lib.slots(true);
    await lib.finalize();
    console.log(JSON.stringify(slots.map((s) => (s.token ? s.token.label : null))));
  `;
  const r = runNode(["--input-type=module", "-e", script], { SLOWHSM_DELAY_CALLS: "*", SLOWHSM_DELAY_MS: "100" });
  assert.deepEqual({ status: r.status, signal: r.signal }, { status: 0, signal: null }, r.stderr);
  assert.ok((JSON.parse(r.stdout) as unknown[]).includes(token.label), r.stdout);
});

test("a call that never returns blocks only its worker, and process.exit(0) still exits", () => {
  const r = runProbe(["hang"], { SLOWHSM_DELAY_CALLS: "C_GenerateRandom", SLOWHSM_DELAY_MS: "3600000" });
  assert.equal(r.inFlightWhileHung, 1);
  assert.equal(r.otherSessionState, 2 /* CKS_RW_PUBLIC_SESSION */, "the other worker served calls");
  assert.equal(r.pendingAtExit, 1);
  assert.equal(r.hungCallSettled, false);
});

test("a garbage-collected library finishes its running call, then its threads exit", () => {
  const r = runProbe(["gc"], { SLOWHSM_DELAY_CALLS: "C_GenerateRandom", SLOWHSM_DELAY_MS: "1000" }, ["--expose-gc"]);
  assert.equal(r.threadsStarted, 8);
  assert.equal(r.settledBeforeCollected, false);
  assert.equal(r.threadsWhileCallRuns, 1, "idle workers stopped, the busy one kept its call");
  assert.equal(r.randomLength, 32);
  assert.equal(r.threadsLeft, 0);
});

test("a worker_thread terminated while its call is in the HSM: the late completion does not crash the process", () => {
  const r = runProbe(["worker-teardown"], { SLOWHSM_DELAY_CALLS: "C_GenerateRandom", SLOWHSM_DELAY_MS: "300" });
  assert.equal(r.workerInFlight, 1);
  assert.equal(r.survived, true);
});
