/**
 * The log's file destination: `<directory>/<file_prefix>[.<suffix>]` rotated as [tracing]
 * rotation_kind says (the reference's names), with retention by count and age. Written in this
 * process (docs/decisions/0006-logging.md): lines are queued and appended with one asynchronous
 * write at a time, so a slow disk never blocks the event loop and holds at most one thread-pool
 * thread.
 *
 * It never throws and never stops the process. When the file cannot be opened or written (disk
 * full, read-only or missing directory, EACCES, EISDIR) the failure is reported once, on stderr,
 * lines are kept in memory up to a bound (then dropped and counted), and the file is retried every
 * few seconds; recovery is reported once too. A file moved or deleted under the proxy (its
 * directory removed) is noticed within a few seconds and opened again.
 */
import fs from "node:fs";
import path from "node:path";

/** The reference's rotation kinds. */
export type RotationKind = "MINUTELY" | "HOURLY" | "DAILY" | "NEVER";

/** Suffix of a log file for a rotation kind, as the reference names them (<prefix>.<date-hour>). */
function rotationSuffix(kind: string, t: Date): string {
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

const PERIOD_MS: Record<RotationKind, number> = { MINUTELY: 60_000, HOURLY: 3_600_000, DAILY: 86_400_000, NEVER: Infinity };
const SUFFIX_RE: Record<RotationKind, string> = {
  MINUTELY: "\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}",
  HOURLY: "\\d{4}-\\d{2}-\\d{2}-\\d{2}",
  DAILY: "\\d{4}-\\d{2}-\\d{2}",
  NEVER: "",
};

/** How the file destination behaves. */
export interface FileLogOptions {
  directory: string;
  prefix: string;
  rotation: RotationKind;
  /** Files kept, the current one included; 0 = no limit. */
  maxFiles: number;
  /** Files older than this are deleted; 0 = no limit. */
  maxAgeHours: number;
  /** Where failures are reported (default: stderr). */
  report?: (text: string) => void;
  /** Clock, ms since the epoch (tests). */
  now?: () => number;
  /** Wait before a failed file is tried again, ms. */
  retryMs?: number;
  /** Lines held in memory while the file cannot be written, bytes. */
  maxQueuedBytes?: number;
}

/** Writes a line to stderr; never throws. */
export function reportToStderr(text: string): void {
  try {
    process.stderr.write(`xksctl: ${text}\n`);
  } catch {
    /* nowhere left to report */
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The rotating, retained, failure-proof log file. */
export class RotatingFile {
  private readonly report: (text: string) => void;
  private readonly now: () => number;
  private readonly retryMs: number;
  private readonly maxQueuedBytes: number;
  private readonly nameRe: RegExp;
  /** Lines not yet written, grouped by the file they belong to. */
  private queue: { name: string; data: string[] }[] = [];
  private queuedBytes = 0;
  private open?: { name: string; fd: number; dev: number; ino: number };
  private busy = false;
  private closed = false;
  private currentName = "";
  private nextBoundary = 0;
  private nextIdentityCheck = 0;
  private failure?: string;
  private failedUntil = 0;
  private retryTimer?: NodeJS.Timeout;
  private dropped = 0;
  private prunedOnce = false;
  private idle: (() => void)[] = [];

  constructor(private readonly opts: FileLogOptions) {
    this.report = opts.report ?? reportToStderr;
    this.now = opts.now ?? Date.now;
    this.retryMs = opts.retryMs ?? 5000;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 8 * 1024 * 1024;
    const suffix = SUFFIX_RE[opts.rotation];
    this.nameRe = new RegExp(`^${escapeRe(opts.prefix)}${suffix ? `\\.${suffix}` : ""}$`);
  }

  /** The file name lines written now go to. */
  fileName(): string {
    const t = this.now();
    if (t >= this.nextBoundary || this.currentName === "") {
      const suffix = rotationSuffix(this.opts.rotation, new Date(t));
      this.currentName = suffix ? `${this.opts.prefix}.${suffix}` : this.opts.prefix;
      const period = PERIOD_MS[this.opts.rotation];
      this.nextBoundary = Number.isFinite(period) ? (Math.floor(t / period) + 1) * period : Infinity;
    }
    return this.currentName;
  }

  /** Queues one line (with its newline). Never throws. */
  write(line: string): void {
    if (this.closed) return;
    if (this.queuedBytes + line.length > this.maxQueuedBytes) {
      if (this.dropped++ === 0 && !this.failure) this.report(`log file ${this.pathOf(this.fileName())}: more than ${this.maxQueuedBytes} bytes waiting to be written; dropping lines until the disk catches up`);
      return;
    }
    const name = this.fileName();
    const last = this.queue[this.queue.length - 1];
    if (last && last.name === name) last.data.push(line);
    else this.queue.push({ name, data: [line] });
    this.queuedBytes += line.length;
    this.pump();
  }

  /** Writes what is queued (as far as the file allows) and closes the file. */
  async close(): Promise<void> {
    if (!this.failure && (this.busy || this.queue.length > 0)) {
      // Bounded: a hung disk must not hold the shutdown.
      await new Promise<void>((r) => {
        this.idle.push(r);
        setTimeout(r, 2000).unref();
      });
    }
    this.closed = true;
    clearTimeout(this.retryTimer);
    const fd = this.open?.fd;
    this.open = undefined;
    if (fd !== undefined) await new Promise<void>((r) => fs.close(fd, () => r()));
  }

  private pathOf(name: string): string {
    return path.join(this.opts.directory, name);
  }

  private settleIdle(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const r of waiting) r();
  }

  /** One step: open the right file if needed, then append the first group. */
  private pump(): void {
    if (this.busy) return;
    const head = this.queue[0];
    if (!head) return this.settleIdle();
    if (this.now() < this.failedUntil) return this.scheduleRetry();
    this.busy = true;
    if (this.open && this.open.name === head.name && this.now() < this.nextIdentityCheck) return this.append(head);
    this.ensureOpen(head.name, (ok) => {
      if (ok) this.append(head);
      else this.busy = false;
    });
  }

  private append(head: { name: string; data: string[] }): void {
    const data = head.data.join("");
    head.data = [];
    fs.write(this.open!.fd, data, null, "utf8", (err, written) => {
      this.busy = false;
      if (err) {
        head.data.unshift(data);
        this.fail(head.name, err);
        return;
      }
      const rest = written < Buffer.byteLength(data) ? Buffer.from(data).subarray(written).toString("utf8") : "";
      if (rest) head.data.unshift(rest);
      this.queuedBytes = Math.max(0, this.queuedBytes - (data.length - rest.length));
      if (head.data.length === 0) this.queue.shift();
      this.recovered();
      this.pump();
    });
  }

  /** Opens `name` unless it is open and still the file at its path; prunes after a rotation. */
  private ensureOpen(name: string, done: (ok: boolean) => void): void {
    const file = this.pathOf(name);
    const current = this.open;
    const reopen = () => {
      const rotated = current !== undefined && current.name !== name;
      if (current) {
        this.open = undefined;
        fs.close(current.fd, () => undefined);
      }
      fs.mkdir(this.opts.directory, { recursive: true, mode: 0o750 }, (mkErr) => {
        if (mkErr) return done(this.fail(name, mkErr));
        fs.open(file, "a", 0o640, (err, fd) => {
          if (err) return done(this.fail(name, err));
          fs.fstat(fd, (stErr, st) => {
            this.open = { name, fd, dev: st?.dev ?? 0, ino: st?.ino ?? 0 };
            this.nextIdentityCheck = this.now() + this.retryMs;
            if (rotated || !this.prunedOnce) this.prune(name);
            done(true);
          });
        });
      });
    };
    if (!current || current.name !== name) return reopen();
    // Same name: is it still the file at that path (not deleted or moved away)?
    fs.stat(file, (err, st) => {
      this.nextIdentityCheck = this.now() + this.retryMs;
      if (!err && st.dev === current.dev && st.ino === current.ino) return done(true);
      reopen();
    });
  }

  /** Deletes this rotation's old files beyond retention_max_files or older than retention_max_age_hours. */
  private prune(current: string): void {
    this.prunedOnce = true;
    const { maxFiles, maxAgeHours, directory } = this.opts;
    if ((maxFiles === 0 && maxAgeHours === 0) || this.opts.rotation === "NEVER") return;
    fs.readdir(directory, (err, names) => {
      if (err) return;
      const old = names.filter((n) => n !== current && this.nameRe.test(n)).sort().reverse();
      const keep = maxFiles === 0 ? Infinity : Math.max(0, maxFiles - 1);
      const cutoff = maxAgeHours === 0 ? -Infinity : this.now() - maxAgeHours * 3_600_000;
      old.forEach((n, i) => {
        const file = path.join(directory, n);
        if (i >= keep) return void fs.unlink(file, () => undefined);
        if (cutoff === -Infinity) return;
        fs.stat(file, (e, st) => {
          if (!e && st.mtimeMs < cutoff) fs.unlink(file, () => undefined);
        });
      });
    });
  }

  /** Records a failure (reported once), closes the file and schedules a retry; returns false. */
  private fail(name: string, err: NodeJS.ErrnoException): false {
    const code = err.code ?? err.message;
    if (this.open) {
      fs.close(this.open.fd, () => undefined);
      this.open = undefined;
    }
    if (!this.failure) {
      this.report(
        `cannot write the log file ${this.pathOf(name)} (${code}); still serving. Log lines are kept in memory (up to ${this.maxQueuedBytes} bytes, then dropped) and the file is tried again every ${Math.round(this.retryMs / 1000)} s.`,
      );
    }
    this.failure = code;
    this.failedUntil = this.now() + this.retryMs;
    this.scheduleRetry();
    this.settleIdle();
    return false;
  }

  private recovered(): void {
    if (!this.failure && this.dropped === 0) return;
    const lost = this.dropped ? `; ${this.dropped} lines were dropped meanwhile` : "";
    const file = this.pathOf(this.open?.name ?? this.fileName());
    this.report(this.failure ? `the log file ${file} is writable again${lost}.` : `the log file ${file} caught up${lost}.`);
    this.failure = undefined;
    this.dropped = 0;
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.failedUntil = 0;
      this.pump();
    }, this.retryMs);
    this.retryTimer.unref();
  }
}
