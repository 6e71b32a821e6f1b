/**
 * Shared pieces of the nShield output parsers: line splitting, `key  value` field lines and the
 * loud failure for output a parser does not understand (it quotes the line).
 */
import { XksctlError } from "../../errors.js";

/** XKS_TOOL_OUTPUT naming the tool and quoting the line it could not read. */
export function unexpectedOutput(tool: string, line: string | undefined, why: string): XksctlError {
  const quoted = line === undefined ? "(end of output)" : JSON.stringify(line);
  return new XksctlError("XKS_TOOL_OUTPUT", `Unexpected output from ${tool}: ${why}: ${quoted}`);
}

/** Splits tool output into lines without trailing whitespace or carriage returns. */
export function outputLines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trimEnd());
}

/** One indented `name  value` line. */
export interface FieldLine {
  key: string;
  value: string;
}

/**
 * Reads an indented field line. Names may hold single spaces ("serial number", "other quora"),
 * so a run of two or more spaces ends the name; a one-word name may also be followed by a
 * single space (nfkminfo's Module block prints "generation 2"). `knownKeys` resolves lines
 * where a multi-word name is followed by one space only.
 */
export function splitField(line: string, knownKeys: readonly string[] = []): FieldLine | undefined {
  const body = line.replace(/^\s+/, "");
  if (body === "" || body === line) return undefined;
  const wide = /^(\S(?:.*?\S)?) {2,}(.*)$/.exec(body);
  if (wide) return { key: wide[1]!, value: wide[2]!.trim() };
  const known = [...knownKeys].sort((a, b) => b.length - a.length).find((k) => body === k || body.startsWith(`${k} `));
  if (known) return { key: known, value: body.slice(known.length).trim() };
  const narrow = /^(\S+)(?: (.*))?$/.exec(body);
  if (narrow) return { key: narrow[1]!, value: (narrow[2] ?? "").trim() };
  return undefined;
}

/** True for the doc samples' abridgement marker line (`...`); real output never has it. */
export function isEllipsis(line: string): boolean {
  return line.trim() === "...";
}
