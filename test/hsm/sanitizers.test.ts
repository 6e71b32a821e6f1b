/**
 * The native driver under AddressSanitizer and UndefinedBehaviorSanitizer. `native/build.sh
 * --sanitize` builds xkshsm.c with both; the driver's own tests, the fault and recovery tests and
 * serve's HSM start-up failures then run again in a child node with libasan preloaded and
 * XKSHSM_ADDON naming that build (the serve processes they start inherit both).
 * A use after free, double free, overflow or undefined behaviour in the driver fails this test
 * with the sanitizer's report, and so does a double free or overflow in a module it loads (ASan
 * replaces malloc and free for the whole process). Leak checking is off: node itself does not
 * free everything at exit.
 *
 *   node --import tsx --test test/hsm/sanitizers.test.ts
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "../helpers/serve-process.js";
import { SOFTHSM_LIB } from "../helpers/softhsm.js";
import { tempDir } from "../helpers/tmp.js";

/** The ASan runtime the compiler links against, or "" when the toolchain has none. */
function asanRuntime(): string {
  const r = spawnSync(process.env.CC || "cc", ["-print-file-name=libasan.so"], { encoding: "utf8" });
  const p = (r.stdout ?? "").trim();
  return r.status === 0 && path.isAbsolute(p) && fs.existsSync(p) ? fs.realpathSync(p) : "";
}

const libasan = asanRuntime();
const skip = libasan ? false : "no AddressSanitizer runtime for cc (Debian: the gcc package brings libasan8)";

let addon = "";
let work = "";
/** Where the sanitizers write their reports, nothing else. */
let logs = "";

before(() => {
  if (skip) return;
  addon = execFileSync("bash", [path.join(ROOT, "native/build.sh"), "--sanitize"], { encoding: "utf8" }).trim();
  work = tempDir("xks-sanitizers-");
  logs = path.join(work, "reports");
  fs.mkdirSync(logs);
  fs.mkdirSync(path.join(work, "tmp"));
});

function sanitizedEnv(): NodeJS.ProcessEnv {
  // Without NODE_TEST_CONTEXT: the child's test runner would take itself for a subtest of this one
  // and skip its files.
  const { NODE_TEST_CONTEXT: _parent, ...env } = process.env;
  return {
    ...env,
    // A child that a sanitizer aborts keeps its temp dirs (tokens, PINs, TLS keys): under `work`,
    // which tempDir removes when this process exits.
    TMPDIR: path.join(work, "tmp"),
    LD_PRELOAD: libasan,
    XKSHSM_ADDON: addon,
    ASAN_OPTIONS: `detect_leaks=0:log_path=${path.join(logs, "asan")}`,
    UBSAN_OPTIONS: `print_stacktrace=1:halt_on_error=1:log_path=${path.join(logs, "ubsan")}`,
  };
}

/** What the sanitizers wrote (each process that reported writes <prefix>.<pid>). */
function reports(): string {
  return fs
    .readdirSync(logs)
    .map((f) => `--- ${f}\n${fs.readFileSync(path.join(logs, f), "utf8")}`)
    .join("\n");
}

test("the sanitized build is the one a child loads, with the ASan runtime mapped", { skip }, () => {
  const probe = path.join(work, "probe.mts");
  fs.writeFileSync(
    probe,
    `import fs from "node:fs";\n` +
      `import { openLibrary } from ${JSON.stringify(path.join(ROOT, "src/hsm/pkcs11/native.ts"))};\n` +
      `openLibrary(${JSON.stringify(SOFTHSM_LIB)}, { threads: 1 });\n` +
      `const maps = fs.readFileSync("/proc/self/maps", "utf8");\n` +
      `console.log(JSON.stringify({ addon: maps.includes(${JSON.stringify(addon)}), asan: /libasan\\.so/.test(maps) }));\n`,
  );
  const r = spawnSync(process.execPath, ["--import", "tsx", probe], { cwd: ROOT, env: sanitizedEnv(), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { addon: true, asan: true });
  assert.equal(reports(), "");
});

test("the driver, fault, recovery and serve start-up tests pass on the sanitized build, with no sanitizer report", { skip, timeout: 600_000 }, async () => {
  // serve-hsm-startup: serve processes whose C_Initialize, C_Login or C_OpenSession fails or hangs.
  const files = ["test/hsm/native-driver.test.ts", "test/hsm/faults.test.ts", "test/hsm/recovery.test.ts", "test/cli/serve-hsm-startup.test.ts"];
  // A hang fails one of the child's tests (as in scripts/test.sh), and the child is killed before
  // this test's own timeout, so it is never left running.
  const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-timeout=300000", "--test-reporter=tap", ...files], {
    cwd: ROOT,
    env: sanitizedEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 540_000,
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const found = reports();
  assert.equal(found, "", `sanitizer report(s):\n${found}`);
  const failed = out.split("\n").filter((l) => /^\s*not ok /.test(l));
  assert.equal(code, 0, `the sanitized run exited ${code}:\n${failed.join("\n")}\n${out.slice(-4000)}`);
  const count = (name: string): number => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(out)?.[1] ?? -1);
  assert.equal(count("fail"), 0);
  assert.equal(count("skipped"), 0, "no test may be skipped on the sanitized build");
  assert.ok(count("tests") >= files.length, `${count("tests")} tests ran on the sanitized build`);
  assert.equal(count("pass"), count("tests"));
});
