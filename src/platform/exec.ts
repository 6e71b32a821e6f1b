/**
 * The one module that runs external programs (the nShield tools). execa with no shell, an
 * explicit timeout and the environment passed in; the tool is found on PATH, then in
 * $NFAST_HOME/bin, then in /opt/nfast/bin. Spawn problems and timeouts become XksctlErrors;
 * a non-zero exit is returned to the caller, whose tool module knows how to read the output.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { XksctlError } from "../errors.js";

/** Where the nShield software lives when NFAST_HOME is unset (nshield-tools.md §1). */
export const DEFAULT_NFAST_HOME = "/opt/nfast";

/** $NFAST_HOME, /opt/nfast when unset or empty. */
export function nfastHome(env: NodeJS.ProcessEnv): string {
  return env.NFAST_HOME && env.NFAST_HOME !== "" ? env.NFAST_HOME : DEFAULT_NFAST_HOME;
}

/**
 * How the tool's standard streams are connected.
 * - "pipe": output captured, stdin closed (no prompt can block).
 * - "inherit": the admin's terminal, unchanged (passphrase prompts); nothing is captured.
 * - "tee": stdin from the terminal, output shown on it and also captured for parsing.
 */
export type StdioMode = "pipe" | "inherit" | "tee";

/** One run of a tool. */
export interface ExecRequest {
  /** Program name, e.g. "generatekey" (never a path: the lookup order is fixed). */
  tool: string;
  args: readonly string[];
  /** Kill the tool after this many milliseconds. */
  timeoutMs: number;
  /** @default "pipe" */
  stdio?: StdioMode;
}

/** What a finished run produced. `stdout`/`stderr` are "" in "inherit" mode. */
export interface ExecResult {
  /** The command as a shell would need it typed (for messages). */
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs tools; injected into commands so tests can wrap or replace it. */
export interface Exec {
  run(req: ExecRequest): Promise<ExecResult>;
}

/** Checks a candidate file is an executable regular file. */
function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The directories searched for a tool, in order: PATH, $NFAST_HOME/bin, /opt/nfast/bin. */
export function toolSearchPath(env: NodeJS.ProcessEnv): string[] {
  const fromPath = (env.PATH ?? "").split(path.delimiter).filter((d) => d !== "");
  const dirs = [...fromPath, path.join(nfastHome(env), "bin"), path.join(DEFAULT_NFAST_HOME, "bin")];
  return [...new Set(dirs)];
}

/** Finds a tool by name in the search path; undefined when absent. */
export function findTool(name: string, env: NodeJS.ProcessEnv, canRun: (file: string) => boolean = isExecutable): string | undefined {
  for (const dir of toolSearchPath(env)) {
    const candidate = path.join(dir, name);
    if (canRun(candidate)) return candidate;
  }
  return undefined;
}

/** Quotes one argument for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  if (arg !== "" && /^[A-Za-z0-9_\-./=:,@%+]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Renders a command line that a shell would run unchanged. */
export function escapeCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map(shellQuote).join(" ");
}

/** The last non-empty lines of a text (stderr first, stdout when stderr is empty). */
export function lastLines(result: Pick<ExecResult, "stdout" | "stderr">, n = 5): string[] {
  const pick = result.stderr.trim() !== "" ? result.stderr : result.stdout;
  return pick
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "")
    .slice(-n);
}

/** XKS_TOOL_FAILED for a run that ended badly: escaped command, exit code, last output lines. */
export function toolFailure(result: ExecResult, what?: string): XksctlError {
  const tail = lastLines(result);
  const tool = path.basename(result.command.split(" ")[0] ?? "tool");
  return new XksctlError("XKS_TOOL_FAILED", `${what ?? tool} failed (exit code ${result.exitCode}): ${result.command}`, {
    details: tail.length > 0 ? tail : ["(the tool printed nothing; its messages, if any, are above)"],
  });
}

/** Options of the real executor. */
export interface ExecOptions {
  /** Extra milliseconds between SIGTERM and SIGKILL on timeout. @default 2000 */
  killGraceMs?: number;
}

/** The production executor over execa, using `env` for the lookup and the child's environment. */
export function createExec(env: NodeJS.ProcessEnv, opts: ExecOptions = {}): Exec {
  return {
    async run(req) {
      const file = findTool(req.tool, env);
      if (!file) {
        throw new XksctlError("XKS_TOOL_MISSING", `The nShield tool \`${req.tool}\` was not found on PATH, in $NFAST_HOME/bin or in /opt/nfast/bin.`);
      }
      const command = escapeCommand(file, req.args);
      const grace = opts.killGraceMs ?? 2000;
      const mode = req.stdio ?? "pipe";
      const streams =
        mode === "inherit"
          ? ({ stdin: "inherit", stdout: "inherit", stderr: "inherit" } as const)
          : mode === "tee"
            ? ({ stdin: "inherit", stdout: ["pipe", "inherit"], stderr: ["pipe", "inherit"] } as const)
            : ({ stdin: "ignore", stdout: "pipe", stderr: "pipe" } as const);
      const sub = execa(file, [...req.args], {
        shell: false,
        env,
        extendEnv: false,
        timeout: req.timeoutMs,
        killSignal: "SIGTERM",
        forceKillAfterDelay: grace,
        reject: false,
        stripFinalNewline: false,
        encoding: "utf8",
        ...streams,
      });
      // After a timeout execa kills the tool but still waits for its pipes to close; a process
      // the tool started could hold them open, so stop waiting shortly after the SIGKILL.
      let timer: NodeJS.Timeout | undefined;
      const hardStop = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          sub.stdout?.destroy();
          sub.stderr?.destroy();
          reject(timeoutError(req, command, "", ""));
        }, req.timeoutMs + grace + 1000);
      });
      let r;
      try {
        r = await Promise.race([sub, hardStop]);
      } finally {
        clearTimeout(timer);
      }
      const stdout = typeof r.stdout === "string" ? r.stdout : "";
      const stderr = typeof r.stderr === "string" ? r.stderr : "";
      if (r.timedOut) throw timeoutError(req, command, stdout, stderr);
      if (r.exitCode === undefined) {
        if (r.signal) {
          return { command, exitCode: 128 + signalNumber(r.signal), stdout, stderr: stderr + `\n(${req.tool} was killed by ${r.signal})` };
        }
        const code = (r as { code?: string }).code ?? "spawn error";
        if (code === "ENOENT") {
          throw new XksctlError("XKS_TOOL_MISSING", `The nShield tool \`${req.tool}\` could not be started: ${file} does not exist.`);
        }
        throw new XksctlError("XKS_TOOL_FAILED", `${req.tool} could not be started (${code}): ${command}`, {
          remedy: "Check the file is executable by the user running xksctl (group `nfast`).",
        });
      }
      return { command, exitCode: r.exitCode, stdout, stderr };
    },
  };
}

function timeoutError(req: ExecRequest, command: string, stdout: string, stderr: string): XksctlError {
  return new XksctlError("XKS_TOOL_TIMEOUT", `${req.tool} did not finish within ${duration(req.timeoutMs)} and was stopped: ${command}`, {
    details: lastLines({ stdout, stderr }),
  });
}

function duration(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

function signalNumber(name: string): number {
  return (os.constants.signals as Record<string, number>)[name] ?? 0;
}
