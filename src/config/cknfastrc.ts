/**
 * Edits /opt/nfast/cknfastrc (`NAME=value` lines, nshield-tools.md §9.1): sets the variables a
 * protection method needs, keeps every other line and comment, and is idempotent. Lines with
 * spaces around `=` are read; changed and added lines are written without spaces.
 */
import fs from "node:fs";
import path from "node:path";
import { XksctlError } from "../errors.js";
import { nfastHome } from "../platform/exec.js";

/** Key protection the PKCS#11 library is configured for. */
export type CknfastProtection = "module" | "ocs";

/** One variable change. `from` is null when the variable was added. */
export interface CknfastChange {
  name: string;
  from: string | null;
  to: string;
}

/** What a protection method needs: variables set always, and conflicting ones reset if present. */
export interface CknfastPlan {
  set: Record<string, string>;
  resetIfPresent: Record<string, string>;
}

/**
 * The rule: module protection → CKNFAST_FAKE_ACCELERATOR_LOGIN=1 (the accelerator slot
 * accepts the proxy's C_Login); OCS → CKNFAST_NO_ACCELERATOR_SLOTS=1. Module keys live in the
 * accelerator slot, so an existing CKNFAST_NO_ACCELERATOR_SLOTS=1 is turned off for module.
 */
export function cknfastPlan(protection: CknfastProtection): CknfastPlan {
  return protection === "module"
    ? { set: { CKNFAST_FAKE_ACCELERATOR_LOGIN: "1" }, resetIfPresent: { CKNFAST_NO_ACCELERATOR_SLOTS: "0" } }
    : { set: { CKNFAST_NO_ACCELERATOR_SLOTS: "1" }, resetIfPresent: {} };
}

/** The default cknfastrc path: $NFAST_HOME/cknfastrc, /opt/nfast/cknfastrc when unset. */
export function defaultCknfastrcPath(env: NodeJS.ProcessEnv): string {
  return path.join(nfastHome(env), "cknfastrc");
}

/** The text of a cknfastrc; a missing file is empty, any other read failure is XKS_FILE_READ. */
export function readCknfastrcText(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw new XksctlError("XKS_FILE_READ", `Cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"}).`);
  }
}

/** The value the library uses: the environment wins over cknfastrc (§9.1). */
export function effectiveCknfastVar(vars: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv, name: string): string | undefined {
  return env[name] ?? vars.get(name);
}

/** The variables of `wanted` that the environment sets to another value, which the library uses instead. */
export function cknfastEnvOverrides(wanted: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv): { name: string; envValue: string; wanted: string }[] {
  return Object.entries(wanted).flatMap(([name, value]) => {
    const envValue = env[name];
    return envValue !== undefined && envValue !== value ? [{ name, envValue, wanted: value }] : [];
  });
}

const VAR_LINE_RE = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

/** Reads the variables of a cknfastrc text (a later line wins); comments and blanks ignored. */
export function parseCknfastrc(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*#/.test(line)) continue;
    const m = VAR_LINE_RE.exec(line);
    if (m) vars.set(m[1]!, m[2]!);
  }
  return vars;
}

/** Applies a plan to a cknfastrc text; returns the new text and the changes (none: same text). */
export function applyCknfastPlan(text: string, plan: CknfastPlan, note: string): { text: string; changes: CknfastChange[] } {
  const wanted = new Map<string, string>(Object.entries(plan.set));
  const present = parseCknfastrc(text);
  for (const [name, value] of Object.entries(plan.resetIfPresent)) if (present.has(name)) wanted.set(name, value);
  const changes: CknfastChange[] = [];
  const seen = new Set<string>();
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const lines = text === "" ? [] : text.split(/\r?\n/);
  const trailingNewline = lines.length > 0 && lines.at(-1) === "";
  if (trailingNewline) lines.pop();
  const out = lines.map((line) => {
    if (/^\s*#/.test(line)) return line;
    const m = VAR_LINE_RE.exec(line);
    if (!m || !wanted.has(m[1]!)) return line;
    const name = m[1]!;
    const to = wanted.get(name)!;
    seen.add(name);
    if (m[2] === to) return line;
    changes.push({ name, from: m[2]!, to });
    return `${name}=${to}`;
  });
  const added = [...wanted].filter(([name]) => !seen.has(name));
  if (added.length > 0) {
    out.push(`# ${note}`);
    for (const [name, to] of added) {
      out.push(`${name}=${to}`);
      changes.push({ name, from: null, to });
    }
  }
  if (changes.length === 0) return { text, changes };
  return { text: out.join(eol) + eol, changes };
}
