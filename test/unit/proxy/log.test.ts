/**
 * The logger (pino) and its file destination: the line format, redaction, and a destination that
 * fails (EISDIR, ENOSPC on /dev/full, a removed directory, a broken stdout): reported once, never
 * thrown, retried; retention by count and by age.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { Settings } from "../../../src/config/types.js";
import { RotatingFile } from "../../../src/proxy/log-file.js";
import { createLogger, redact } from "../../../src/proxy/log.js";
import { until } from "../../helpers/wait.js";
import { tempDir } from "../../helpers/tmp.js";

const tracing = (over: Partial<Settings["tracing"]> = {}): Settings["tracing"] => ({
  is_stdout_writer_enabled: true,
  is_file_writer_enabled: false,
  level: "INFO",
  retention_max_files: 24,
  retention_max_age_hours: 0,
  ...over,
});

const tmp = () => tempDir("xksctl-log-");

test("one JSON object per line: level and msg first, the fields, then time; secrets redacted", () => {
  let out = "";
  const logger = createLogger(tracing(), { write: (s) => void (out += s) });
  logger.log("WARN", "request", { status: 401, user_pin: "1234", authorization: "AWS4-HMAC-SHA256 …", detail: "signature does not match" });
  logger.log("DEBUG", "hidden");
  const lines = out.trim().split("\n");
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^\{"level":"WARN","msg":"request","status":401,/);
  const v = JSON.parse(lines[0]!);
  assert.equal(v.user_pin, "[redacted]");
  assert.equal(v.authorization, "[redacted]");
  assert.ok(!Number.isNaN(Date.parse(v.time)));
  assert.doesNotMatch(out, /1234|AWS4-HMAC/);
  assert.deepEqual(redact({ plaintext: "x", secretAccessKey: "y", keyId: "k" }), { plaintext: "[redacted]", secretAccessKey: "[redacted]", keyId: "k" });
});

test("a stdout that throws or emits 'error' (EPIPE) is reported once; logging goes on", () => {
  const reports: string[] = [];
  const broken = Object.assign(new EventEmitter(), {
    write() {
      throw Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
    },
  });
  const logger = createLogger(tracing(), broken, { report: (t) => reports.push(t) });
  for (let i = 0; i < 5; i++) logger.log("INFO", "line", { i });
  broken.emit("error", Object.assign(new Error("EPIPE"), { code: "EPIPE" }));
  assert.equal(reports.length, 1, reports.join("\n"));
  assert.match(reports[0]!, /cannot write the log to stdout \(EPIPE\); still serving/);
});

test("a log file that cannot be opened (EISDIR) is reported once, retried, and used once it can be", async () => {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, "xks.log")); // the file name is taken by a directory
  const reports: string[] = [];
  const logger = createLogger(tracing({ is_stdout_writer_enabled: false, is_file_writer_enabled: true, directory: dir, file_prefix: "xks.log", rotation_kind: "NEVER" }), undefined, {
    report: (t) => reports.push(t),
    retryMs: 50,
  });
  for (let i = 0; i < 20; i++) logger.log("INFO", "before", { i });
  await until(() => reports.length > 0, "the failure is reported", 3_000);
  await new Promise((r) => setTimeout(r, 200)); // several retries
  assert.equal(reports.length, 1, reports.join("\n"));
  assert.match(reports[0]!, /cannot write the log file .*xks\.log \(EISDIR\); still serving/);
  fs.rmdirSync(path.join(dir, "xks.log"));
  logger.log("INFO", "after");
  await until(() => fs.existsSync(path.join(dir, "xks.log")) && fs.readFileSync(path.join(dir, "xks.log"), "utf8").includes('"msg":"after"'), "lines reach the file once it can be written", 3_000);
  const text = fs.readFileSync(path.join(dir, "xks.log"), "utf8");
  assert.equal(text.match(/"msg":"before"/g)?.length, 20, "lines kept in memory meanwhile are written");
  // The lines are in the file before the write's callback, which reports the recovery, has run.
  await until(() => reports.length > 1, "the recovery is reported", 3_000);
  assert.equal(reports.length, 2, reports.join("\n"));
  assert.match(reports[1]!, /writable again/);
  await logger.close();
});

test("a full disk (ENOSPC on /dev/full) is reported once and never thrown", { skip: !fs.existsSync("/dev/full") && "no /dev/full" }, async () => {
  const reports: string[] = [];
  const file = new RotatingFile({ directory: "/dev", prefix: "full", rotation: "NEVER", maxFiles: 0, maxAgeHours: 0, report: (t) => reports.push(t), retryMs: 30 });
  for (let i = 0; i < 50; i++) file.write(`{"i":${i}}\n`);
  await until(() => reports.length > 0, "reported", 3_000);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(reports.length, 1, reports.join("\n"));
  assert.match(reports[0]!, /\(ENOSPC\)/);
  await file.close();
});

test("a log directory removed under the proxy is made again and the file reopened", async () => {
  const dir = path.join(tmp(), "logs");
  const file = new RotatingFile({ directory: dir, prefix: "p.log", rotation: "NEVER", maxFiles: 0, maxAgeHours: 0, report: () => undefined, retryMs: 30 });
  file.write("one\n");
  await until(() => fs.existsSync(path.join(dir, "p.log")) && fs.readFileSync(path.join(dir, "p.log"), "utf8") === "one\n", "first line", 3_000);
  fs.rmSync(dir, { recursive: true });
  await new Promise((r) => setTimeout(r, 60)); // past the identity check interval
  file.write("two\n");
  await until(() => fs.existsSync(path.join(dir, "p.log")) && fs.readFileSync(path.join(dir, "p.log"), "utf8").includes("two"), "the file is back", 3_000);
  await file.close();
});

test("rotation names files as the reference does; retention keeps retention_max_files of them", async () => {
  const dir = tmp();
  let now = Date.UTC(2026, 0, 2, 3, 4, 5);
  fs.writeFileSync(path.join(dir, "other.txt"), "not ours");
  fs.writeFileSync(path.join(dir, "xks.log.2020-01-01-00"), "an HOURLY file: another rotation kind, kept");
  const file = new RotatingFile({ directory: dir, prefix: "xks.log", rotation: "MINUTELY", maxFiles: 3, maxAgeHours: 0, now: () => now, report: () => undefined });
  for (let m = 0; m < 6; m++) {
    file.write(`minute ${m}\n`);
    await until(() => fs.existsSync(path.join(dir, `xks.log.2026-01-02-03-${String(4 + m).padStart(2, "0")}`)), `file of minute ${m}`, 3_000);
    now += 60_000;
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 50));
  const names = fs.readdirSync(dir).sort();
  assert.deepEqual(names, ["other.txt", "xks.log.2020-01-01-00", "xks.log.2026-01-02-03-07", "xks.log.2026-01-02-03-08", "xks.log.2026-01-02-03-09"]);
  await file.close();
});

test("retention by age deletes this rotation's files older than retention_max_age_hours", async () => {
  const dir = tmp();
  const now = Date.UTC(2026, 0, 10, 12);
  for (const [name, hoursAgo] of [["a.log.2026-01-01", 9 * 24], ["a.log.2026-01-09", 20], ["a.log.2026-01-10", 1]] as const) {
    fs.writeFileSync(path.join(dir, name), "x");
    const t = new Date(now - hoursAgo * 3_600_000);
    fs.utimesSync(path.join(dir, name), t, t);
  }
  const file = new RotatingFile({ directory: dir, prefix: "a.log", rotation: "DAILY", maxFiles: 0, maxAgeHours: 48, now: () => now, report: () => undefined });
  file.write("today\n");
  await until(() => !fs.existsSync(path.join(dir, "a.log.2026-01-01")), "the 9-day-old file is deleted", 3_000);
  assert.ok(fs.existsSync(path.join(dir, "a.log.2026-01-09")));
  assert.equal(fs.readFileSync(path.join(dir, "a.log.2026-01-10"), "utf8"), "xtoday\n");
  await file.close();
});
