/**
 * Structured logging: one JSON object per line, to stdout and/or a rotated file as [tracing]
 * says. Callers pass fields explicitly; nothing here ever receives plaintext, PINs, secrets or
 * Authorization headers, and `redact` masks any field whose name looks secret, as a backstop.
 */
import fs from "node:fs";
import path from "node:path";
import type { Settings } from "../config/types.js";

/** Log levels in increasing severity. */
export type Level = "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR";
const ORDER: Record<Level, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };

/** A structured logger. */
export interface Logger {
  log(level: Level, msg: string, fields?: Record<string, unknown>): void;
  /** Whether a line at `level` would be written (lets hot paths skip building fields). */
  enabled(level: Level): boolean;
  close(): Promise<void>;
}

const SECRET_FIELD = /(^pin$|_pin$|^pin_|userpin|secret|password|passphrase|authorization|plaintext)/i;

/** Replaces values of secret-looking fields. */
export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = SECRET_FIELD.test(k) ? "[redacted]" : v;
  return out;
}

/** Suffix of a log file for a rotation kind, as the reference names them (<prefix>.<date-hour>). */
export function rotationSuffix(kind: string, t: Date): string {
  const iso = t.toISOString();
  switch (kind) {
    case "MINUTELY":
      return `${iso.slice(0, 10)}-${iso.slice(11, 13)}-${iso.slice(14, 16)}`;
    case "HOURLY":
      return `${iso.slice(0, 10)}-${iso.slice(11, 13)}`;
    case "DAILY":
      return iso.slice(0, 10);
    default:
      return "";
  }
}

class RotatingFile {
  private stream?: fs.WriteStream;
  private suffix?: string;
  constructor(
    private dir: string,
    private prefix: string,
    private kind: string,
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }
  write(line: string): void {
    const suffix = rotationSuffix(this.kind, new Date());
    if (suffix !== this.suffix || !this.stream) {
      this.stream?.end();
      this.suffix = suffix;
      const name = suffix ? `${this.prefix}.${suffix}` : this.prefix;
      this.stream = fs.createWriteStream(path.join(this.dir, name), { flags: "a", mode: 0o640 });
    }
    this.stream.write(line);
  }
  close(): Promise<void> {
    return new Promise((r) => (this.stream ? this.stream.end(r) : r()));
  }
}

/** Creates the logger described by [tracing]; `stdout` is injectable for tests. */
export function createLogger(tracing: Settings["tracing"], stdout: { write(s: string): void } = process.stdout): Logger {
  const min = ORDER[tracing.level];
  const file = tracing.is_file_writer_enabled && tracing.directory && tracing.file_prefix ? new RotatingFile(tracing.directory, tracing.file_prefix, tracing.rotation_kind ?? "HOURLY") : undefined;
  const toStdout = tracing.is_stdout_writer_enabled;
  const enabled = (level: Level) => ORDER[level] >= min && (toStdout || file !== undefined);
  return {
    enabled,
    log(level, msg, fields = {}) {
      if (!enabled(level)) return;
      const line = `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...redact(fields) })}\n`;
      if (toStdout) stdout.write(line);
      file?.write(line);
    },
    close: () => file?.close() ?? Promise.resolve(),
  };
}

/** Routes the HSM layer's operational events into the log. */
export function hsmEventLogger(logger: Logger): (level: "info" | "warn" | "error", message: string) => void {
  const levels = { info: "INFO", warn: "WARN", error: "ERROR" } as const;
  return (level, message) => logger.log(levels[level], message);
}
