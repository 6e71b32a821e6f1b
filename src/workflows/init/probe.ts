/**
 * What init finds on the machine before it asks anything: are the nShield tools there, is the
 * hardserver up, the world and the modules usable, a FIPS world, the card sets and the pkcs11
 * keys, and the cknfastrc. An unusable HSM stops init here with the verbs' typed error.
 */
import path from "node:path";
import { defaultCknfastrcPath, effectiveCknfastVar, parseCknfastrc, readCknfastrcText } from "../../config/cknfastrc.js";
import { XksctlError } from "../../errors.js";
import type { CardsetInfo, NamedKey } from "../../hsm/nfast/nfkminfo.js";
import { readHsmStatus, type HsmStatus } from "../../hsm/nfast/status.js";
import { findTool, nfastHome, type Exec } from "../../platform/exec.js";

/** The nShield tools init runs. */
const TOOLS = ["enquiry", "nfkminfo", "generatekey"] as const;

/** Whether the nShield tools are found (PATH, $NFAST_HOME/bin, /opt/nfast/bin). */
export function nshieldToolsPresent(env: NodeJS.ProcessEnv): boolean {
  return TOOLS.every((t) => findTool(t, env) !== undefined);
}

/** The nShield PKCS#11 library of this installation. */
function cknfastLibrary(env: NodeJS.ProcessEnv): string {
  return path.join(nfastHome(env), "toolkits", "pkcs11", "libcknfast.so");
}

/** The machine as init sees it. */
export interface NshieldMachine {
  status: HsmStatus;
  nfastHome: string;
  pkcs11Module: string;
  cknfastrc: { file: string; text: string; vars: Map<string, string> };
  /** Usable modules (load sharing spreads keys and work over more than one). */
  usableModules: number;
  /** CKNFAST_LOADSHARING is on (cknfastrc or environment), or will be for several modules. */
  loadSharing: boolean;
  /** null when `nfkminfo -c` could not be read (its format is provisional). */
  cardsets: CardsetInfo[] | null;
  /** pkcs11 keys of the world (name = CKA_LABEL). */
  keys: NamedKey[];
  /** Lines for the admin: what was found. */
  findings: string[];
  warnings: string[];
}

/** Problems come hardserver first: a stopped hardserver makes the rest meaningless. */
const ORDER = ["XKS_HARDSERVER_DOWN", "XKS_MODULE_UNUSABLE", "XKS_WORLD_UNUSABLE"];

/** Reads the nShield installation; throws the first problem that makes it unusable for XKS. */
export async function probeNshield(exec: Exec, env: NodeJS.ProcessEnv): Promise<NshieldMachine> {
  const status = await readHsmStatus(exec);
  const rank = (code: string): number => (ORDER.includes(code) ? ORDER.indexOf(code) : ORDER.length);
  const problems = [...status.problems].sort((a, b) => rank(a.code) - rank(b.code));
  const first = problems[0];
  if (first) throw new XksctlError(first.code, first.message, { remedy: first.remedy, details: problems.slice(1).map((p) => p.message) });
  const file = defaultCknfastrcPath(env);
  const text = readCknfastrcText(file);
  const vars = parseCknfastrc(text);
  const usableModules = status.modules.filter((m) => m.usable).length;
  const lsValue = effectiveCknfastVar(vars, env, "CKNFAST_LOADSHARING");
  const loadSharing = lsValue === "1" || (lsValue === undefined && usableModules > 1);
  const keys = status.keys.filter((k) => k.app === "pkcs11");
  const hs = status.hardserver;
  const findings = [
    `hardserver ${hs.mode}${hs.version ? ` (${hs.version})` : ""}`,
    `Security World usable, mode ${status.world.mode ?? "unknown"}${status.world.fips ? " (FIPS)" : ""}`,
    `${usableModules} usable module${usableModules === 1 ? "" : "s"}${loadSharing ? ", load sharing" : ""}`,
    status.cardsets === null ? "card sets: not listed" : `${status.cardsets.length} card set${status.cardsets.length === 1 ? "" : "s"}${status.cardsets.length ? ` (${status.cardsets.map((c) => c.name).join(", ")})` : ""}`,
    `${keys.length} pkcs11 key${keys.length === 1 ? "" : "s"}`,
  ];
  return {
    status,
    nfastHome: nfastHome(env),
    pkcs11Module: cknfastLibrary(env),
    cknfastrc: { file, text, vars },
    usableModules,
    loadSharing,
    cardsets: status.cardsets,
    keys,
    findings,
    warnings: [...status.warnings],
  };
}

/** The PKCS#11 token label for a protection method (nshield-tools.md §9.4: slot labels). */
export function tokenLabelFor(protection: "module" | "ocs", cardset: string | undefined, loadSharing: boolean): string {
  if (protection === "ocs") return cardset ?? "";
  return loadSharing ? "loadshared accelerator" : "accelerator";
}
