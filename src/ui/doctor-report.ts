/**
 * Rendering of `xksctl doctor`: one line per check (status, id, message), a `→` line with the fix
 * under every warning and failure, and a summary line; or the JSON document. Colours with chalk
 * only on a terminal, never with NO_COLOR (https://no-color.org) or TERM=dumb; FORCE_COLOR forces.
 */
import { Chalk, type ChalkInstance } from "chalk";

/** The parts of a check result this renders (the doctor workflow's CheckResult has this shape). */
export interface DoctorLineView {
  id: string;
  group: string;
  status: "pass" | "warn" | "fail" | "skip";
  message: string;
  fix: string | null;
  duration: number;
}

/** The parts of a report this renders. */
export interface DoctorReportView {
  mode: "local" | "url";
  target: string;
  checks: readonly DoctorLineView[];
  summary: Record<DoctorLineView["status"], number>;
  exitCode: number;
}

/** Whether to colour: a terminal, no NO_COLOR, not TERM=dumb; FORCE_COLOR (not 0) forces it on. */
export function useColour(env: NodeJS.ProcessEnv, terminal: boolean): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== "") return force !== "0" && force !== "false";
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return terminal && env.TERM !== "dumb";
}

/** A renderer bound to a colour choice; the id column is as wide as the longest id. */
export function doctorRenderer(opts: { colour: boolean; idWidth: number }): { line(r: DoctorLineView): string; summary(report: DoctorReportView): string } {
  const c: ChalkInstance = new Chalk({ level: opts.colour ? 1 : 0 });
  const mark = { pass: c.green("✔"), warn: c.yellow("!"), fail: c.red("✖"), skip: c.dim("-") } as const;
  const word = { pass: "pass", warn: c.yellow("warn"), fail: c.red("FAIL"), skip: c.dim("skip") } as const;
  return {
    line(r) {
      const id = r.id.padEnd(opts.idWidth);
      const text = r.status === "skip" ? c.dim(`skipped: ${r.message}`) : r.message;
      const fix = r.fix && (r.status === "warn" || r.status === "fail") ? `\n${" ".repeat(opts.idWidth + 10)}${c.cyan("→")} ${r.fix}` : "";
      return `${mark[r.status]} ${word[r.status]}  ${r.status === "fail" ? c.bold(id) : id}  ${text}${fix}\n`;
    },
    summary(report) {
      const s = report.summary;
      const parts = [`${s.pass} passed`, `${s.warn} warning${s.warn === 1 ? "" : "s"}`, `${s.fail} failed`, `${s.skip} skipped`];
      const verdict = s.fail > 0 ? c.red("✖ problems found") : s.warn > 0 ? c.green("✔ no failures") + c.yellow(" (see the warnings)") : c.green("✔ all checks passed");
      const what = report.mode === "url" ? `the XKS proxy at ${report.target}, as KMS calls it` : report.target;
      return `\n${verdict} (${what}): ${parts.join(", ")}\n`;
    },
  };
}

/** The --json document: the report alone, one object. */
export function doctorJson(report: DoctorReportView): unknown {
  return {
    mode: report.mode,
    target: report.target,
    ok: report.exitCode === 0,
    summary: report.summary,
    checks: report.checks.map((r) => ({ id: r.id, group: r.group, status: r.status, message: r.message, fix: r.fix, duration: r.duration })),
  };
}
