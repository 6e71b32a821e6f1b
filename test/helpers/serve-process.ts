/**
 * Runs the real binary (`node bin/xksctl.cjs serve`) in a child process, for tests of what an
 * admin sees: start-up errors, exit codes, signals, and HSM behaviours configured by environment
 * (the slowhsm shim reads its settings once per process).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The binary under test (XKSCTL_TEST_BIN: another build of it, for development). */
export const BIN = process.env.XKSCTL_TEST_BIN ?? path.join(ROOT, "bin/xksctl.cjs");

/** Builds (if needed) and returns the path of the slowhsm shim. */
export function slowHsmLibrary(): string {
  return execFileSync("bash", [path.join(ROOT, "test/fixtures/slowhsm/build.sh")], { encoding: "utf8" }).trim();
}

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

/** Runs the CLI to completion. */
export function runBin(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `serve --config file --port 0` and waits for its "listening" log line. */
export function startServe(configFile: string, env: NodeJS.ProcessEnv, scheme = "https"): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, "serve", "--config", configFile, "--port", "0"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`serve did not start in 15 s\nstdout: ${out}\nstderr: ${err}`));
    }, 15_000);
    proc.stderr!.on("data", (d) => (err += d));
    proc.stdout!.on("data", (d) => {
      out += d;
      const m = /"msg":"xksctl proxy listening","address":"[^"]*:(\d+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({
          proc,
          port,
          url: `${scheme}://localhost:${port}`,
          stdout: () => out,
          stderr: () => err,
          stop: (signal = "SIGTERM") => {
            proc.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}
