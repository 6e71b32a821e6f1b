// Helper for test/hsm/native-driver.test.ts: runs one scenario of the xkshsm addon in a fresh
// process (the slowhsm shim reads its SLOWHSM_* configuration once per process) and prints one
// JSON object on stdout. Byte strings in the output are hex; never prints the PIN or plaintext.
//
//   XKSHSM_NODE=native/build/Release/xkshsm.node XKSHSM_MODULE=/path/libslowhsm.so \
//   SOFTHSM2_CONF=... PROBE_LABEL=... PROBE_PIN=... node test/hsm/native-probe.mjs <scenario> [args]
//
// Scenarios:
//   overlap <sessions> <threads>  encryptGcm on every session at once, then decryptGcm; samples
//                                 inFlight() and counts setInterval(5 ms) ticks during the batch
//   ivmode                        encryptGcm with a zero IV (SLOWHSM_IV_MODE=zero) or an empty IV
//                                 (append); decryptGcm with the IV the HSM chose
//   hang                          one call never returns (C_GenerateRandom delayed 1 h); other calls
//                                 still complete on the other worker; then process.exit(0)
//   gc                            (--expose-gc) a library dropped while a call runs: the call still
//                                 resolves, then its worker threads exit
//   worker-teardown               a worker_thread using the addon is terminated while its call is in
//                                 the HSM; the call finishes after the env is gone
import { createRequire } from "node:module";
import fs from "node:fs";
import { Worker } from "node:worker_threads";

const require = createRequire(import.meta.url);
const addonPath = process.env.XKSHSM_NODE;
const modulePath = process.env.XKSHSM_MODULE;
const label = process.env.PROBE_LABEL ?? "t";
const pin = Buffer.from(process.env.PROBE_PIN ?? "1234");
const [scenario, ...args] = process.argv.slice(2);
if (!addonPath || !modulePath || !scenario) {
  process.stderr.write("usage: XKSHSM_NODE=... XKSHSM_MODULE=... node native-probe.mjs <scenario> [args]\n");
  process.exit(2);
}
const { openLibrary } = require(addonPath);

const CKA_CLASS = 0x0, CKA_TOKEN = 0x1, CKA_KEY_TYPE = 0x100, CKA_ENCRYPT = 0x104, CKA_DECRYPT = 0x105;
const CKA_VALUE_LEN = 0x161, CKO_SECRET_KEY = 4, CKK_AES = 0x1f, CKM_AES_KEY_GEN = 0x1080;
const ulong = (t, n) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return [t, b];
};
const bool = (t, v) => [t, Buffer.from([v ? 1 : 0])];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const threadCount = () => Number(/^Threads:\s+(\d+)$/m.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);

async function setup(lib) {
  await lib.initialize();
  const slot = (await lib.slots(true)).find((s) => s.token?.label === label);
  if (!slot) throw new Error(`token '${label}' not found`);
  const session = await lib.openSession(slot.slot);
  await lib.login(session, pin);
  const key = await lib.generateKey(session, CKM_AES_KEY_GEN, [
    ulong(CKA_CLASS, CKO_SECRET_KEY),
    ulong(CKA_KEY_TYPE, CKK_AES),
    ulong(CKA_VALUE_LEN, 32),
    bool(CKA_TOKEN, false),
    bool(CKA_ENCRYPT, true),
    bool(CKA_DECRYPT, true),
  ]);
  return { slot: slot.slot, session, key };
}

const aad = Buffer.from("native-probe aad");
const plaintext = (i) => Buffer.from(`native probe message #${i}`);
const out = { scenario };

switch (scenario) {
  case "overlap": {
    const n = Number(args[0] ?? 16);
    const threads = Number(args[1] ?? n);
    const lib = openLibrary(modulePath, { threads });
    const { slot, session, key } = await setup(lib);
    const sessions = await Promise.all(Array.from({ length: n }, () => lib.openSession(slot)));
    const ivs = await lib.generateRandom(session, 12 * n);
    let ticks = 0;
    let maxInFlight = 0;
    const sample = () => {
      maxInFlight = Math.max(maxInFlight, lib.inFlight());
    };
    const timer = setInterval(() => {
      ticks++;
      sample();
    }, 5);
    const batch = sessions.map((s, i) => lib.encryptGcm(s, key, ivs.subarray(12 * i, 12 * i + 12), aad, plaintext(i), plaintext(i).length + 16));
    out.pendingAtSubmit = lib.pending();
    sample();
    const results = await Promise.all(batch);
    clearInterval(timer);
    out.ticksDuringEncrypt = ticks;
    out.maxInFlightEncrypt = maxInFlight;
    out.pendingAfter = lib.pending();
    out.outputLengths = results.map((r) => r.output.length);
    out.ivsUnchanged = results.every((r, i) => r.iv.equals(ivs.subarray(12 * i, 12 * i + 12)));
    const back = await Promise.all(sessions.map((s, i) => lib.decryptGcm(s, key, results[i].iv, aad, results[i].output, results[i].output.length)));
    out.roundTrips = back.every((b, i) => b.equals(plaintext(i)));
    out.distinctCiphertexts = new Set(results.map((r) => r.output.toString("hex"))).size;
    await Promise.all(sessions.map((s) => lib.closeSession(s)));
    await lib.closeSession(session);
    await lib.finalize();
    break;
  }
  case "ivmode": {
    const mode = process.env.SLOWHSM_IV_MODE;
    const lib = openLibrary(modulePath, { threads: 2 });
    const { session, key } = await setup(lib);
    const pt = plaintext(0);
    if (mode === "zero") {
      const r = await lib.encryptGcm(session, key, Buffer.alloc(12), aad, pt, pt.length + 16);
      out.outputLength = r.output.length;
      out.iv = r.iv.toString("hex");
      out.roundTrip = (await lib.decryptGcm(session, key, r.iv, aad, r.output, r.output.length)).equals(pt);
    } else if (mode === "append") {
      const r = await lib.encryptGcm(session, key, Buffer.alloc(0), aad, pt, pt.length + 16 + 12);
      out.outputLength = r.output.length;
      out.ivLength = r.iv.length;
      const iv = r.output.subarray(r.output.length - 12);
      const ctTag = r.output.subarray(0, r.output.length - 12);
      out.roundTrip = (await lib.decryptGcm(session, key, iv, aad, ctTag, ctTag.length)).equals(pt);
    } else {
      throw new Error(`SLOWHSM_IV_MODE must be zero or append, not ${mode}`);
    }
    await lib.closeSession(session);
    await lib.finalize();
    break;
  }
  case "hang": {
    const lib = openLibrary(modulePath, { threads: 2 });
    await lib.initialize();
    const slot = (await lib.slots(true)).find((s) => s.token?.label === label);
    const session = await lib.openSession(slot.slot);
    // C_GenerateRandom is the only delayed call (1 hour): this never settles.
    lib.generateRandom(session, 16).then(
      () => (out.hungCallSettled = true),
      () => (out.hungCallSettled = true),
    );
    for (let i = 0; i < 1000 && lib.inFlight() === 0; i++) await sleep(5);
    out.inFlightWhileHung = lib.inFlight();
    // The other worker still serves calls.
    const other = await lib.openSession(slot.slot);
    out.otherSessionState = (await lib.sessionInfo(other)).state;
    await lib.closeSession(other);
    out.pendingAtExit = lib.pending();
    out.hungCallSettled ??= false;
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(0);
  }
  case "gc": {
    if (typeof globalThis.gc !== "function") throw new Error("run with --expose-gc");
    const before = threadCount();
    let after = 0;
    // Everything that references the library lives in this function's scope only.
    const call = await (async () => {
      const lib = openLibrary(modulePath, { threads: 8 });
      after = threadCount();
      await lib.initialize();
      const slot = (await lib.slots(true)).find((s) => s.token?.label === label);
      const session = await lib.openSession(slot.slot);
      // C_GenerateRandom is delayed: the library is dropped while the call runs.
      return { p: lib.generateRandom(session, 32) };
    })();
    let settled = false;
    call.p.then(() => (settled = true), () => (settled = true));
    // Collect the library while its call is still in the HSM: the idle workers exit, the busy
    // one stays until its call returns.
    let now = threadCount();
    for (let i = 0; i < 500 && now !== before + 1 && !settled; i++) {
      globalThis.gc();
      await sleep(2);
      now = threadCount();
    }
    out.threadsWhileCallRuns = now - before;
    out.settledBeforeCollected = settled;
    out.randomLength = (await call.p).length;
    now = threadCount();
    for (let i = 0; i < 500 && now !== before; i++) {
      globalThis.gc();
      await sleep(10);
      now = threadCount();
    }
    out.threadsStarted = after - before;
    out.threadsLeft = now - before;
    break;
  }
  case "worker-teardown": {
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      const { openLibrary } = require(workerData.addonPath);
      (async () => {
        const lib = openLibrary(workerData.modulePath, { threads: 2 });
        await lib.initialize();
        const slot = (await lib.slots(true)).find((s) => s.token && s.token.label === workerData.label);
        const session = await lib.openSession(slot.slot);
        lib.generateRandom(session, 16); // delayed: still in the HSM when the worker is terminated
        while (lib.inFlight() === 0) await new Promise((r) => setTimeout(r, 5));
        parentPort.postMessage({ inFlight: lib.inFlight() });
      })();
    `;
    const w = new Worker(code, { eval: true, workerData: { addonPath, modulePath, label } });
    const msg = await new Promise((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
    out.workerInFlight = msg.inFlight;
    out.exitCode = await w.terminate();
    // Outlive the delayed call (SLOWHSM_DELAY_MS), which now completes with its env gone.
    await sleep(Number(process.env.SLOWHSM_DELAY_MS) * 3);
    out.survived = true;
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
process.stdout.write(JSON.stringify(out) + "\n");
