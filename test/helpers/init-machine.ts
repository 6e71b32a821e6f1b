/**
 * A bare stand-in nShield client for init tests: a temporary NFAST_HOME served by the nShield
 * tool stand-ins (test/fixtures/nfast/bin), a SoftHSM2 token behind the TEST STAND-IN
 * libcknfast.so at $NFAST_HOME/toolkits/pkcs11/ (it needs CKNFAST_FAKE_ACCELERATOR_LOGIN=1 for
 * an empty PIN, and writes the GCM IV into a zero IV like nShield), and a runner of the real
 * binary through a pseudo-terminal (test/fixtures/pty/drive.py); with pipes, use runBin.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT, createStandinWorld, type StandinWorld } from "./operator.js";
import { BIN } from "./serve-process.js";
import { SOFTHSM_LIB, createTestToken, type TestToken } from "./softhsm.js";
import { tempDir } from "./tmp.js";

/** Builds the libcknfast stand-in (once per checkout) and returns its path. */
export function cknfastStandin(): string {
  return execFileSync("bash", [path.join(ROOT, "test/fixtures/nfast/pkcs11/build.sh")], { encoding: "utf8" }).trim();
}

/** A stand-in nShield machine. */
export interface InitMachine {
  world: StandinWorld;
  token: TestToken;
  /** Environment of the binary: stand-ins on PATH, NFAST_HOME, the token, no CI, no terminal. */
  env: NodeJS.ProcessEnv;
  /** A scratch folder (the working directory of runs; --dir goes below it). */
  scratch: string;
  cleanup(): void;
}

/**
 * A bare machine whose SoftHSM token is labelled `tokenLabel` with user PIN `pin`: "accelerator"
 * for module protection, the card set's name for OCS (its passphrase is then the PIN).
 */
export function bareNshieldMachine(opts: { tokenLabel?: string; pin?: string; env?: NodeJS.ProcessEnv } = {}): InitMachine {
  const token = createTestToken(opts.tokenLabel ?? "accelerator", opts.pin ?? "1234");
  const world = createStandinWorld(token, opts.env ?? {});
  const lib = path.join(world.home, "toolkits", "pkcs11", "libcknfast.so");
  fs.mkdirSync(path.dirname(lib), { recursive: true });
  fs.symlinkSync(cknfastStandin(), lib);
  const scratch = tempDir("xksctl-init-run-");
  const env: NodeJS.ProcessEnv = { ...world.env, NFAST_STANDIN_PKCS11_LIB: SOFTHSM_LIB, HOME: scratch };
  delete env.CI;
  return {
    world,
    token,
    env,
    scratch,
    cleanup() {
      world.cleanup();
      fs.rmSync(token.dir, { recursive: true, force: true });
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** One step of a terminal session: wait for `expect`, then type `send`. */
export interface PtyStep {
  expect: string;
  send: string;
}

/** What a terminal session showed. */
export interface PtyRun {
  code: number | null;
  signal: number | null;
  transcript: string;
  error: string | null;
}

export const KEY = { enter: "\r", down: "\x1b[B", up: "\x1b[A", ctrlC: "\x03" };

/** Runs the binary in a pseudo-terminal, typing the steps' keys when their prompt shows. */
export function runInPty(args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string; steps: PtyStep[]; timeoutSec?: number }): Promise<PtyRun> {
  return new Promise((resolve, reject) => {
    const py = spawn("python3", [path.join(ROOT, "test/fixtures/pty/drive.py")], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    py.stdout.on("data", (d) => (out += d));
    py.stderr.on("data", (d) => (err += d));
    py.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`pty driver failed (${code}): ${err}`));
      resolve(JSON.parse(out) as PtyRun);
    });
    py.stdin.end(JSON.stringify({ argv: [process.execPath, BIN, ...args], env: { ...opts.env, TERM: "xterm-256color" }, cwd: opts.cwd, steps: opts.steps, timeout: opts.timeoutSec ?? 90 }));
  });
}

/** The stand-in tools run so far, one "tool argv..." string each. */
export function toolRuns(m: InitMachine): string[] {
  return m.world.invocations().map((i) => [i.tool, ...i.argv].join(" "));
}

/** Mode bits of a file as octal text ("600"). */
export function modeOf(file: string): string {
  return (fs.statSync(file).mode & 0o777).toString(8);
}
