/**
 * Recognises the failures an admin can act on in a tool's output and turns them into typed
 * errors carrying the fix. Only `ERROR: <param>: invalid option` is a verified string
 * (nshield-tools.md §2.5); the other patterns are [I] (no real sample found) and deliberately
 * broad, so they live in one table that is easy to correct on a real HSM.
 */
import { XksctlError, type ErrorCode } from "../../errors.js";
import { lastLines, toolFailure, type Exec, type ExecRequest, type ExecResult } from "../../platform/exec.js";

/** One recognisable failure. */
interface FailureRule {
  code: ErrorCode;
  pattern: RegExp;
  /** One-line summary; `m` is the regex match. */
  summary(m: RegExpExecArray): string;
  remedy?: string;
}

/** Ordered: a stopped hardserver makes every later symptom meaningless, so it comes first. */
const RULES: readonly FailureRule[] = [
  {
    code: "XKS_HARDSERVER_DOWN",
    pattern: /ServerNotRunning|hardserver (?:is )?not running|(?:cannot|can't|could not|unable to) connect to (?:the )?hardserver/i,
    summary: () => "the nShield hardserver is not running",
  },
  {
    code: "XKS_WORLD_UNUSABLE",
    pattern: /security ?world (?:is )?not (?:usable|loaded|initiali[sz]ed|present)|no (?:usable )?security ?world/i,
    summary: () => "the Security World is not usable",
  },
  {
    code: "XKS_MODULE_UNUSABLE",
    pattern: /no usable modules?|NoUsableModules?|module #?\d* ?(?:is )?not (?:usable|operational)|PreInitMode|HardwareFailed/i,
    summary: () => "no usable HSM module",
  },
  {
    code: "XKS_CARD_PROBLEM",
    pattern: /insert an? (?:Administrator|Operator) Card/i,
    summary: () => "the Security World (FIPS 140 Level 3) asks for an Administrator or Operator Card to authorise this",
    remedy: "Insert an Administrator Card or an Operator Card of this world, run the command from a terminal, and type its passphrase when asked.",
  },
  {
    code: "XKS_CARD_PROBLEM",
    pattern: /(?:wrong|incorrect|bad) pass ?phrase|pass ?phrase (?:is )?(?:wrong|incorrect)|DecryptFailed/i,
    summary: () => "the card passphrase was not accepted",
  },
  {
    code: "XKS_CARD_PROBLEM",
    pattern: /(?:cardset|card set) .*(?:not found|does not exist|unknown)|unknown (?:cardset|card set)/i,
    summary: () => "the card set named does not exist in this Security World",
    remedy: "List card sets with `xksctl hsm status`; create one with `xksctl ocs create`.",
  },
  {
    code: "XKS_CARD_PROBLEM",
    pattern: /no card (?:present|inserted|in slot)|card (?:is )?(?:missing|not present)|TokenNotPresent/i,
    summary: () => "a card of the card set is missing",
  },
  {
    code: "XKS_TOOL_BAD_PARAMETER",
    pattern: /^ERROR: (\S+): invalid option/m,
    summary: (m) => `the value of parameter \`${m[1]}\` was rejected`,
  },
];

/** The typed error for a failed run whose output shows a known cause; undefined otherwise. */
export function classifyFailure(tool: string, result: ExecResult): XksctlError | undefined {
  const text = `${result.stderr}\n${result.stdout}`;
  for (const rule of RULES) {
    const m = rule.pattern.exec(text);
    if (!m) continue;
    const line = text.split(/\r?\n/).find((l) => rule.pattern.test(l)) ?? m[0];
    return new XksctlError(rule.code, `${tool}: ${rule.summary(m)} (${JSON.stringify(line.trim())})`, {
      ...(rule.remedy ? { remedy: rule.remedy } : {}),
      details: [`command: ${result.command}`, `exit code: ${result.exitCode}`, ...lastLines(result).map((l) => `| ${l}`)],
    });
  }
  return undefined;
}

/** Runs a tool; a non-zero exit becomes the typed error for its cause, or XKS_TOOL_FAILED. */
export async function runChecked(exec: Exec, req: ExecRequest): Promise<ExecResult> {
  const result = await exec.run(req);
  if (result.exitCode !== 0) throw classifyFailure(req.tool, result) ?? toolFailure(result, req.tool);
  return result;
}
