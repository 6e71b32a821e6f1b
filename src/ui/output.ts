/** Rendering of results and errors for the terminal or --json. */
import chalk from "chalk";
import { isXksctlError } from "../errors.js";
import type { Out } from "../context.js";

/** Prints a value as single-document JSON. */
export function printJson(out: Out, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Renders a table of rows with left-aligned columns. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** Renders any thrown value for the user; returns the exit code. Never prints a stack unless debug. */
export function renderError(err: unknown, out: Out, opts: { json: boolean; debug: boolean }): number {
  if (isXksctlError(err)) {
    if (opts.json) {
      printJson(out, { error: { code: err.code, message: err.message, details: err.details, remedy: err.remedy } });
    } else {
      out.write(`${chalk.red("✖")} ${err.message}\n`);
      for (const d of err.details) out.write(`  ${d}\n`);
      out.write(`${chalk.cyan("→")} ${err.remedy}\n`);
      if (opts.debug && err.cause) out.write(`${String((err.cause as Error).stack ?? err.cause)}\n`);
    }
    return err.exitCode;
  }
  const e = err as Error;
  if (opts.json) printJson(out, { error: { code: "XKS_INTERNAL", message: String(e?.message ?? e) } });
  else {
    out.write(`${chalk.red("✖")} Internal error: ${String(e?.message ?? e)}\n`);
    out.write(opts.debug ? `${String(e?.stack)}\n` : `${chalk.cyan("→")} This is a bug in xksctl: please report it with the output of --debug.\n`);
  }
  return 70;
}
