/**
 * Runs the real binary (`node bin/xksctl.cjs serve`) in a child process, for tests of what an
 * admin sees: start-up errors, exit codes, signals, and HSM behaviours configured by environment
 * (the slowhsm shim reads its settings once per process). servedToken gives such a test file its
 * token, TLS files, client and settings files.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import type { Agent } from "undici";
import { createStandardToken } from "./proxy.js";
import { testSettings, writeSettings } from "./settings.js";
import { agents, send } from "./sign.js";
import { SOFTHSM_LIB, removeTestToken, type TestToken } from "./softhsm.js";
import { createTestPki, type TestPki } from "./tls.js";
import { freePort } from "./port.js";
import { until } from "./wait.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The binary under test (XKSCTL_TEST_BIN: another build of it, for development). */
export const BIN = process.env.XKSCTL_TEST_BIN ?? path.join(ROOT, "bin/xksctl.cjs");

/** Builds (if needed) and returns the path of the slowhsm shim. */
export function slowHsmLibrary(): string {
  return execFileSync("bash", [path.join(ROOT, "test/fixtures/slowhsm/build.sh")], { encoding: "utf8" }).trim();
}

/**
 * Every serve process a test started and that has not exited: killed once the file's tests are
 * done, so a test that failed or timed out before its own cleanup never leaves a proxy running
 * (whose pipes would keep the test file, and so the whole run, waiting).
 */
const live = new Set<ChildProcess>();
after(() => {
  for (const proc of live) proc.kill("SIGKILL");
});

/** A running serve process. */
export interface ServeProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Sends a signal and resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The JSON log lines `s` has written so far. Only complete lines: the last one may still be
 * arriving (a pipe delivers it in pieces), and parsing half of it would throw.
 */
export function logLines(s: Pick<ServeProcess, "stdout">): Record<string, unknown>[] {
  return s
    .stdout()
    .split("\n")
    .slice(0, -1)
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs the CLI to completion. */
export function runBin(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 20_000,
  cwd?: string,
  /** Called with all of stdout so far on each chunk (to signal the child at a point of its run). */
  onStdout?: (stdout: string, child: ChildProcess) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      onStdout?.(stdout, child);
    });
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}


/** How startServe runs `serve` and knows it is up. */
export interface ServeOptions {
  cwd?: string;
  /** An executable to run instead of `node BIN` (an installed xksctl). */
  bin?: string;
  /**
   * "log" (default): wait for the "listening" log line on stdout. "ping": for settings with the
   * stdout writer off: listen on a port that was free a moment ago and poll GET /ping on it.
   */
  ready?: "log" | "ping";
  /** The scheme of `url` (default https). */
  scheme?: string;
}

/**
 * Starts `serve --config <file> --port 0` (`fileOrArgs` a settings file) or the argv `fileOrArgs`
 * (ready "log" only), and waits until it listens; rejects if it exits first or is not up in 20 s
 * (it is then killed).
 */
export async function startServe(fileOrArgs: string | string[], env: NodeJS.ProcessEnv, opts: ServeOptions = {}): Promise<ServeProcess> {
  const ping = opts.ready === "ping";
  if (ping && Array.isArray(fileOrArgs)) throw new Error('startServe: ready "ping" picks the port, so it takes a settings file');
  const pingPort = ping ? await freePort() : 0;
  const args = Array.isArray(fileOrArgs) ? fileOrArgs : ["serve", "--config", fileOrArgs, "--port", String(pingPort)];
  const [command, argv] = opts.bin ? [opts.bin, args] : [process.execPath, [BIN, ...args]];
  const proc = spawn(command, argv, { env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  let out = "";
  let err = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (err += d));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r((exitCode = code))));
  const url = (port: number) => `${opts.scheme ?? "https"}://localhost:${port}`;
  const prober = ping ? agents().h1 : undefined;
  /** The port once serve listens. */
  const listening = async (): Promise<number | undefined> => {
    if (exitCode !== undefined) throw new Error(`serve exited with ${exitCode} before listening`);
    if (!prober) {
      const m = /"msg":"xksctl proxy listening","address":"[^"]*:(\d+)"/.exec(out);
      return m ? Number(m[1]) : undefined;
    }
    try {
      return (await send(`${url(pingPort)}/ping`, "GET", {}, undefined, prober)).status === 200 ? pingPort : undefined;
    } catch {
      return undefined; // not listening yet
    }
  };
  let port: number;
  try {
    port = await until(listening, "serve to listen", 20_000);
  } catch (e) {
    proc.kill("SIGKILL");
    throw new Error(`${(e as Error).message}\nstdout: ${out}\nstderr: ${err}`);
  } finally {
    await prober?.close();
  }
  return {
    proc,
    port,
    url: url(port),
    stdout: () => out,
    stderr: () => err,
    stop: (signal = "SIGTERM") => {
      proc.kill(signal);
      return exited;
    },
  };
}

/** What servedToken gives a test file. */
export interface ServedToken {
  /** The token with the standard test keys (createStandardToken). */
  token: TestToken;
  pki: TestPki;
  /** The test CA's certificate. */
  ca: Buffer;
  /** An HTTP/2 client trusting the test CA. */
  h2: Agent;
  /** Writes the test settings for this token and TLS files (`patch` deep-merged) to `<token dir>/<name>`; returns the path. */
  config(patch?: Record<string, unknown>, name?: string, module?: string): string;
}

/**
 * The token, TLS files and client of a file of serve tests: made in a `before` hook, the client
 * closed and the token removed in an `after` hook (both registered here). Read its fields in tests
 * and hooks, not at the top level.
 */
export function servedToken(): ServedToken {
  const served = {
    config: (patch: Record<string, unknown> = {}, name = "settings.toml", module = SOFTHSM_LIB) =>
      writeSettings(served.token.dir, testSettings({ module, tokenLabel: served.token.label, pin: served.token.pin, cert: served.pki.serverCert, key: served.pki.serverKey }, patch), name),
  } as ServedToken;
  before(() => {
    served.token = createStandardToken();
    served.pki = createTestPki();
    served.ca = fs.readFileSync(served.pki.caCert);
    ({ h2: served.h2 } = agents(served.ca));
  });
  after(async () => {
    await served.h2?.close();
    if (served.token) removeTestToken(served.token);
  });
  return served;
}
