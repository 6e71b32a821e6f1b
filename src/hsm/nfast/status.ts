/**
 * The state of the nShield installation in one object (for `hsm status` and preflight checks):
 * hardserver and modules from `enquiry`, world and module state from `nfkminfo`, keys from
 * `nfkminfo -l`, card sets from `nfkminfo -c` (provisional format: a failure there is a warning).
 */
import { XksctlError, isXksctlError, type ErrorCode } from "../../errors.js";
import type { Exec } from "../../platform/exec.js";
import { enquiryModuleProblem, hardserverProblem, readEnquiry, type EnquiryReport } from "./enquiry.js";
import {
  isFipsMode,
  listCardsets,
  listNamedKeys,
  modeNeedsCardForKeyGeneration,
  readWorld,
  type CardsetInfo,
  type NamedKey,
  type WorldReport,
} from "./nfkminfo.js";

/** Something that makes the HSM unusable for XKS, with its fix. */
export interface StatusProblem {
  code: ErrorCode;
  message: string;
  remedy: string;
}

/** Everything `hsm status` reports. */
export interface HsmStatus {
  usable: boolean;
  hardserver: { mode: string; replyFlags: string; version?: string };
  world: { state: string; initialised: boolean; usable: boolean; mode: string | null; fips: boolean; cardNeededForKeyGeneration: boolean };
  modules: { index: number; serial?: string; mode?: string; version?: string; state?: string; usable: boolean }[];
  /** Protection methods a new key can use here. */
  protection: ("module" | "ocs")[];
  keys: NamedKey[];
  /** null when the card set list could not be read (see warnings). */
  cardsets: CardsetInfo[] | null;
  problems: StatusProblem[];
  warnings: string[];
}

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

function problem(code: ErrorCode, message: string): StatusProblem {
  const e = new XksctlError(code, message);
  return { code, message, remedy: e.remedy };
}

/** The problems that make a world report unusable (world flags and every module's state). */
export function worldProblems(report: WorldReport): StatusProblem[] {
  const out: StatusProblem[] = [];
  if (!report.world.initialised || !report.world.usable) {
    out.push(problem("XKS_WORLD_UNUSABLE", `The Security World is not usable (state ${report.world.state}).`));
  }
  if (report.modules.length === 0) out.push(problem("XKS_MODULE_UNUSABLE", "nfkminfo lists no HSM module."));
  for (const m of report.modules) {
    if (!m.usable) out.push(problem("XKS_MODULE_UNUSABLE", `Module #${m.index} is not usable (state ${m.state}).`));
  }
  return out;
}

/** Throws the first problem of a world report as an XksctlError (for preflight checks). */
export function requireUsableWorld(report: WorldReport): void {
  const [first, ...rest] = worldProblems(report);
  if (first) throw new XksctlError(first.code, first.message, { details: rest.map((p) => p.message) });
}

/** Collects the whole status. Hardserver-down and tool-missing errors are thrown, not reported. */
export async function readHsmStatus(exec: Exec): Promise<HsmStatus> {
  const enquiry: EnquiryReport = await readEnquiry(exec);
  const world = await readWorld(exec);
  const keys = await listNamedKeys(exec);
  const warnings: string[] = [];
  let cardsets: CardsetInfo[] | null = null;
  try {
    cardsets = await listCardsets(exec);
  } catch (err) {
    if (!isXksctlError(err) || (err.code !== "XKS_TOOL_OUTPUT" && err.code !== "XKS_TOOL_FAILED")) throw err;
    warnings.push(`card sets not listed: ${err.message}`);
  }
  const problems = worldProblems(world);
  const down = hardserverProblem(enquiry.server);
  if (down) problems.push(problem("XKS_HARDSERVER_DOWN", `${sentence(down)}.`));
  const modules = [...new Set([...enquiry.modules.map((m) => m.index), ...world.modules.map((m) => m.index)])].sort((a, b) => a - b).map((index) => {
    const e = enquiry.modules.find((m) => m.index === index);
    const w = world.modules.find((m) => m.index === index);
    const usable = Boolean(e?.usable ?? true) && Boolean(w?.usable ?? false);
    const unusable = e && enquiryModuleProblem(e);
    if (unusable) problems.push(problem("XKS_MODULE_UNUSABLE", `${unusable}.`));
    return {
      index,
      usable,
      ...(e?.serial ?? w?.esn ? { serial: e?.serial ?? w?.esn } : {}),
      ...(e ? { mode: e.mode } : {}),
      ...(e?.version ? { version: e.version } : {}),
      ...(w ? { state: w.state } : {}),
    };
  });
  const mode = world.world.mode ?? null;
  const needCard = modeNeedsCardForKeyGeneration(world.world.mode);
  if (needCard) warnings.push(`world mode ${mode}: generating a key needs an Administrator or Operator Card (have one ready for \`xksctl keys create\`)`);
  const protection: ("module" | "ocs")[] = ["module"];
  if ((cardsets?.length ?? 0) > 0 || keys.some((k) => k.protection === "cardset")) protection.push("ocs");
  return {
    usable: problems.length === 0,
    hardserver: { mode: enquiry.server.mode, replyFlags: enquiry.server.replyFlags, ...(enquiry.server.version ? { version: enquiry.server.version } : {}) },
    world: { state: world.world.state, initialised: world.world.initialised, usable: world.world.usable, mode, fips: isFipsMode(world.world.mode), cardNeededForKeyGeneration: needCard },
    modules,
    protection,
    keys,
    cardsets,
    problems,
    warnings,
  };
}
