/**
 * Structured logging on pino: one JSON object per line, `{"level","msg",...fields,"time"}`, to
 * stdout and/or the rotated, retained file of [tracing] (src/proxy/log-file.ts); see
 * docs/decisions/0006-logging.md. Logging never throws and never stops the process: a failing
 * destination is reported once on stderr and retried, and the proxy keeps serving.
 *
 * Callers pass fields explicitly; nothing here ever receives plaintext, PINs, secrets or
 * Authorization headers, and `redact` masks any field whose name looks secret, as a backstop.
 */
import { pino, type Logger as PinoLogger } from "pino";
import type { Settings } from "../config/types.js";
import { RotatingFile, reportToStderr, type RotationKind } from "./log-file.js";

/** Log levels in increasing severity. */
export type Level = "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR";
const PINO_LEVEL = { TRACE: "trace", DEBUG: "debug", INFO: "info", WARN: "warn", ERROR: "error" } as const;

/** A structured logger. */
export interface Logger {
  log(level: Level, msg: string, fields?: Record<string, unknown>): void;
  /** Whether a line at `level` would be written (lets hot paths skip building fields). */
  enabled(level: Level): boolean;
  close(): Promise<void>;
}

const SECRET_FIELD = /(^pin$|_pin$|^pin_|userpin|secret|password|passphrase|authorization|plaintext)/i;

/** Copies `fields` into `into` (a new object by default), replacing values of secret-looking fields. */
export function redact(fields: Record<string, unknown>, into: Record<string, unknown> = {}): Record<string, unknown> {
  for (const k in fields) into[k] = SECRET_FIELD.test(k) ? "[redacted]" : fields[k];
  return into;
}

/** Somewhere lines go. */
interface Sink {
  write(line: string): void;
  close?(): Promise<void>;
}

/** What stdout-like destinations may offer besides write(). */
type StreamLike = { write(s: string): unknown; on?: (ev: "error", fn: (err: Error) => void) => unknown; writableLength?: number };

/**
 * stdout (or an injected stream): a write that throws or an 'error' event (EPIPE: the reader went
 * away) is reported once and ignored; lines are dropped while more than 8 MiB waits in the
 * stream's buffer, so a stalled reader cannot exhaust memory.
 */
class StreamSink implements Sink {
  private failed = false;
  private dropping = false;
  constructor(
    private stream: StreamLike,
    private report: (text: string) => void,
  ) {
    stream.on?.("error", (err) => this.problem(err));
  }
  write(line: string): void {
    if ((this.stream.writableLength ?? 0) > 8 * 1024 * 1024) {
      if (!this.dropping) this.report("stdout is not being read; dropping log lines until it is");
      this.dropping = true;
      return;
    }
    this.dropping = false;
    try {
      this.stream.write(line);
    } catch (err) {
      this.problem(err as Error);
    }
  }
  private problem(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.report(`cannot write the log to stdout (${(err as NodeJS.ErrnoException).code ?? err.message}); still serving`);
  }
}

/** Options for tests: where failures are reported, the file's clock and retry interval. */
export interface LoggerOptions {
  report?: (text: string) => void;
  now?: () => number;
  retryMs?: number;
}

/** Creates the logger described by [tracing]; `stdout` is injectable for tests. */
export function createLogger(tracing: Settings["tracing"], stdout: StreamLike = process.stdout, opts: LoggerOptions = {}): Logger {
  const report = opts.report ?? reportToStderr;
  const sinks: Sink[] = [];
  if (tracing.is_stdout_writer_enabled) sinks.push(new StreamSink(stdout, report));
  if (tracing.is_file_writer_enabled && tracing.directory && tracing.file_prefix) {
    sinks.push(
      new RotatingFile({
        directory: tracing.directory,
        prefix: tracing.file_prefix,
        rotation: (tracing.rotation_kind ?? "HOURLY") as RotationKind,
        maxFiles: tracing.retention_max_files ?? 24,
        maxAgeHours: tracing.retention_max_age_hours ?? 0,
        report,
        now: opts.now,
        retryMs: opts.retryMs,
      }),
    );
  }
  const destination = { write: (line: string) => sinks.forEach((s) => s.write(line)) };
  const p: PinoLogger = pino(
    {
      level: sinks.length > 0 ? PINO_LEVEL[tracing.level] : "silent",
      base: null,
      timestamp: false,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
    },
    destination,
  );
  let broken = false;
  const enabled = (level: Level) => p.isLevelEnabled(PINO_LEVEL[level]);
  return {
    enabled,
    log(level, msg, fields = {}) {
      if (!enabled(level)) return;
      try {
        // One object per line: msg, the fields (redacted), time.
        const line = redact(fields, { msg });
        line.time = new Date().toISOString();
        p[PINO_LEVEL[level]](line);
      } catch (err) {
        if (!broken) report(`a log line could not be written (${(err as Error).message}); still serving`);
        broken = true;
      }
    },
    close: async () => {
      await Promise.all(sinks.map((s) => s.close?.().catch(() => undefined)));
    },
  };
}

/** Routes the HSM layer's operational events into the log. */
export function hsmEventLogger(logger: Logger): (level: "info" | "warn" | "error", message: string) => void {
  const levels = { info: "INFO", warn: "WARN", error: "ERROR" } as const;
  return (level, message) => logger.log(levels[level], message);
}
