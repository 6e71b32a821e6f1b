/**
 * `createocs`: writes an Operator Card Set (nshield-tools.md §4). The tool asks for each card's
 * passphrase itself, so it normally runs on the admin's terminal with nothing captured.
 */
import { XksctlError } from "../../errors.js";
import type { Exec, StdioMode } from "../../platform/exec.js";
import { runChecked } from "./failures.js";
import { outputLines, unexpectedOutput } from "./output.js";

const TOOL = "createocs";

/** A card set to create. */
export interface CreateOcsParams {
  name: string;
  /** K of N cards needed. */
  k: number;
  n: number;
  /** @default 1 */
  module?: number;
  /** Slot to write (`-s`, [I]); omitted when undefined. */
  slot?: number;
  /** Persistent card set (`-p`, [V2]). */
  persistent?: boolean;
}

/** Card-set names xksctl accepts (a conservative subset; nShield's own rule is [I]). */
const CARDSET_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Checks a card-set name given as `what` (a flag, or "A card set name"); throws XKS_USAGE. */
export function checkCardSetName(value: string, what: string): string {
  if (!CARDSET_NAME_RE.test(value)) throw new XksctlError("XKS_USAGE", `${what} must be 1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit, got ${JSON.stringify(value)}`);
  return value;
}

/** Parses `K/N` (1 <= K <= N <= 64); throws XKS_USAGE. */
export function parseQuorum(raw: string): { k: number; n: number } {
  const m = /^(\d{1,2})\/(\d{1,2})$/.exec(raw.trim());
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || k < 1 || n < 1 || k > n || n > 64) {
    throw new XksctlError("XKS_USAGE", `--quorum must be K/N with 1 <= K <= N <= 64 (e.g. 1/1 or 2/3), got ${JSON.stringify(raw)}`);
  }
  return { k, n };
}

/** Builds createocs's argv: `-m 1 -Q K/N -N NAME` (verified), then `-s`/`-p` when asked. */
export function createOcsArgs(p: CreateOcsParams): string[] {
  const args = ["-m", String(p.module ?? 1), "-Q", `${p.k}/${p.n}`, "-N", p.name];
  if (p.slot !== undefined) args.push("-s", String(p.slot));
  if (p.persistent) args.push("-p");
  return args;
}

const DONE_RE = /^cardset created; hkltu = ([0-9a-f]{40})$/;

/** Reads the hkltu from captured createocs output. */
export function parseCreateOcsOutput(text: string): { hkltu: string } {
  const lines = outputLines(text);
  for (const l of lines) {
    const m = DONE_RE.exec(l.trim());
    if (m) return { hkltu: m[1]! };
  }
  throw unexpectedOutput(TOOL, lines.filter((l) => l.trim() !== "").at(-1), "no `cardset created; hkltu = <hash>` line");
}

/** Runs createocs; returns the hkltu when output was captured ("pipe"/"tee"). */
export async function createOcs(exec: Exec, p: CreateOcsParams, opts: { stdio: StdioMode; timeoutMs: number }): Promise<{ hkltu?: string }> {
  const r = await runChecked(exec, { tool: TOOL, args: createOcsArgs(p), timeoutMs: opts.timeoutMs, stdio: opts.stdio });
  if (opts.stdio === "inherit") return {};
  return parseCreateOcsOutput(r.stdout);
}
