/**
 * A device error while a PKCS#11 call hangs, through the real binary. The library cannot be
 * re-initialised under a call that never returns (C_Finalize under it is undefined), and before
 * [pkcs11] reset_wait_milli the re-initialisation waited for it forever: the process stayed up and
 * answered 500 to every request. Now it exits 1 after reset_wait_milli, for systemd to restart it;
 * a worker is replaced and the others keep serving. The slowhsm shim's control file makes the
 * health check's C_Decrypt hang and the next C_Encrypt fail with CKR_DEVICE_ERROR.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { clearControl, waitForStats, writeControl } from "../fixtures/slowhsm/control.mjs";
import { keyPath, md } from "../helpers/proxy.js";
import { logLines, servedToken, slowHsmLibrary, startServe, type ServeProcess } from "../helpers/serve-process.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { smithyPost } from "../helpers/sign.js";
import { until } from "../helpers/wait.js";

const served = servedToken();
const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };
const encrypt = (s: ServeProcess) =>
  smithyPost(`${s.url}${keyPath(PREFIX, "foo", "encrypt")}`, { requestMetadata: md(), plaintext: Buffer.from("stuck").toString("base64"), encryptionAlgorithm: "AES_GCM" }, served.h2, main);

const PKCS11 = { health_check_interval_milli: 50, operation_timeout_milli: 300, reset_wait_milli: 500 };
const STUCK = /PKCS#11 call\(s\) still queued or inside the library \d+ ms after a device error; the library cannot be re-initialised in this process: exiting with code 1/;

/** Starts serve on the shim; returns it with its control and stats files. */
async function start(name: string, server: Record<string, unknown> = {}) {
  const control = path.join(served.token.dir, `${name}-control`);
  const stats = path.join(served.token.dir, `${name}-stats.json`);
  fs.rmSync(control, { force: true });
  const file = served.config({ server, pkcs11: PKCS11 }, `${name}.toml`, slowHsmLibrary());
  const s = await startServe(file, { ...served.token.env, SLOWHSM_CONTROL: control, SLOWHSM_STATS: stats });
  return { s, control, stats };
}

test("a device error while a call hangs: serve exits 1 after reset_wait_milli, with the reason in its log", async () => {
  const { s, control, stats } = await start("stuck-one", { workers: 1 });
  try {
    assert.equal((await encrypt(s)).status, 200);
    writeControl(control, ["hang C_Decrypt"]);
    await waitForStats(stats, (st) => st.hanging >= 1); // the health check's round trip
    writeControl(control, ["hang C_Decrypt", "fail C_Encrypt CKR_DEVICE_ERROR"]);
    assert.equal((await encrypt(s)).status, 500);
    const code = await until(() => s.proc.exitCode ?? undefined, "serve to exit", 15_000);
    assert.equal(code, 1, s.stderr());
    const lines = logLines(s);
    assert.ok(lines.some((l) => l.level === "ERROR" && STUCK.test(String(l.msg))), s.stdout());
    assert.equal(lines.at(-1)?.msg, "stopped", "it drained and stopped, not crashed; nothing is logged after that");
  } finally {
    clearControl(control);
    if (s.proc.exitCode === null) await s.stop("SIGKILL");
  }
});

test("with workers, the stuck worker exits and is replaced; requests succeed again", async () => {
  const { s, control } = await start("stuck-workers", { workers: 2 });
  try {
    await until(() => logLines(s).some((l) => l.msg === "xksctl workers listening"), "the primary's listening line");
    writeControl(control, ["hang C_Decrypt"]);
    // Each worker's health check hangs and reports so once it has waited its 2 s (the shared stats
    // file shows only the last writer). From then on a worker's health check makes no call: the
    // next C_Encrypt is the request's, in a worker with a hung call.
    // A worker whose first check was still running when the hang was set reports "unknown -> UNAVAILABLE".
    const hung = () => logLines(s).filter((l) => /^HSM health \S+ -> UNAVAILABLE$/.test(String(l.msg)));
    await until(() => hung().length >= 2, "a hung health check in each worker").catch((e) => {
      throw new Error(`${e.message}; health lines: ${JSON.stringify(logLines(s).filter((l) => /^HSM health/.test(String(l.msg))).map((l) => l.msg))}`);
    });
    writeControl(control, ["hang C_Decrypt", "fail C_Encrypt CKR_DEVICE_ERROR nth=1"]);
    const first = await encrypt(s);
    assert.equal(first.status, 500, first.text);
    const exited = await until(() => logLines(s).find((l) => l.msg === "worker exited; starting a new one"), "the stuck worker's exit");
    assert.equal(exited.code, 1);
    assert.ok(logLines(s).some((l) => l.level === "ERROR" && STUCK.test(String(l.msg))), "the worker said why");
    clearControl(control);
    await until(() => logLines(s).some((l) => l.msg === "worker replaced"), "a new worker listens");
    let ok = 0;
    for (let i = 0; i < 50 && ok < 8; i++) {
      if ((await encrypt(s)).status === 200) ok++;
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(ok, 8, "requests succeed again");
    assert.equal(s.proc.exitCode, null, "the primary is still running");
  } finally {
    clearControl(control);
    await s.stop();
  }
});
