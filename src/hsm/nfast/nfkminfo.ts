/**
 * `nfkminfo`: Security World and module state (default output, nshield-tools.md §3.2), keys by
 * protection (`-l`, §3.3) and card sets (`-c`, §3.4, provisional: its shape is [I]).
 */
import { XksctlError } from "../../errors.js";
import type { Exec } from "../../platform/exec.js";
import { runChecked } from "./failures.js";
import { isEllipsis, outputLines, splitField, unexpectedOutput } from "./output.js";

const TOOL = "nfkminfo";
/** nfkminfo answers from the hardserver's cache; 30 s is generous. */
const TIMEOUT_MS = 30_000;

/** The `World` block. */
export interface WorldInfo {
  /** Raw `state` value, e.g. "0x37270008 Initialised Usable ...". */
  state: string;
  /** State flags; a clear flag is prefixed "!" (e.g. "!Usable"). */
  flags: string[];
  initialised: boolean;
  usable: boolean;
  /** `mode` value (e.g. "none", "fips1402level3"); undefined when the line is absent. */
  mode?: string;
  generation?: string;
  fields: Record<string, string>;
}

/** One `Module #N` block (before its slots). */
export interface ModuleInfo {
  index: number;
  /** Raw `state` value, e.g. "0x2 Usable". */
  state: string;
  /** The state name after the hex code ("Usable", "PreInitMode", ...). */
  stateName: string;
  usable: boolean;
  esn?: string;
  fields: Record<string, string>;
  slots: { slot: number; ic: number; fields: Record<string, string> }[];
}

/** Parsed default (`-w`) output. */
export interface WorldReport {
  world: WorldInfo;
  modules: ModuleInfo[];
}

/** Decides whether a world mode needs a card to authorise key generation (§0 item 4; value names [I]). */
export function modeNeedsCardForKeyGeneration(mode: string | undefined): boolean {
  if (!mode) return false;
  return /fips.*(level3|l3)|fips1403|140-?3/i.test(mode);
}

/** Is the world mode a FIPS one (anything but "none")? Values are [I]. */
export function isFipsMode(mode: string | undefined): boolean {
  return mode !== undefined && /fips/i.test(mode);
}

const WORLD_RE = /^World$/;
const MODULE_RE = /^Module #(\d+)$/;
const SLOT_RE = /^Module #(\d+) Slot #(\d+) IC (\d+)$/;
/** Headers seen after the module blocks; "Cardset" (under a slot) and "Pre-Loaded Objects" are [I]. */
const TRAILER_RE = /^(?:No Pre-Loaded Objects|Pre-Loaded Objects.*|Cardset)$/;

/** Parses nfkminfo's default World/Module output; throws XKS_TOOL_OUTPUT on unknown lines. */
export function parseWorldInfo(text: string): WorldReport {
  let worldFields: Record<string, string> | undefined;
  const modules: ModuleInfo[] = [];
  let current: Record<string, string> | undefined;
  let inTrailer = false;
  for (const line of outputLines(text)) {
    if (line.trim() === "" || isEllipsis(line)) continue;
    if (!/^\s/.test(line)) {
      let m: RegExpExecArray | null;
      if (WORLD_RE.test(line)) {
        if (worldFields) throw unexpectedOutput(TOOL, line, "a second World block");
        current = worldFields = {};
        inTrailer = false;
      } else if ((m = MODULE_RE.exec(line))) {
        const fields: Record<string, string> = {};
        modules.push({ index: Number(m[1]), state: "", stateName: "", usable: false, fields, slots: [] });
        current = fields;
        inTrailer = false;
      } else if ((m = SLOT_RE.exec(line))) {
        const mod = modules.find((x) => x.index === Number(m![1]));
        if (!mod) throw unexpectedOutput(TOOL, line, "a slot of a module not listed before it");
        const fields: Record<string, string> = {};
        mod.slots.push({ slot: Number(m[2]), ic: Number(m[3]), fields });
        current = fields;
        inTrailer = false;
      } else if (TRAILER_RE.test(line)) {
        current = undefined;
        inTrailer = true;
      } else {
        throw unexpectedOutput(TOOL, line, "an unknown section header");
      }
      continue;
    }
    if (inTrailer) continue;
    const field = splitField(line);
    if (!current || !field) throw unexpectedOutput(TOOL, line, "a field line outside any World or Module block");
    current[field.key] = field.value;
  }
  if (!worldFields) throw unexpectedOutput(TOOL, undefined, "no World block");
  const world = worldFromFields(worldFields);
  for (const mod of modules) readModuleState(mod);
  return { world, modules };
}

function worldFromFields(fields: Record<string, string>): WorldInfo {
  const state = fields.state;
  if (state === undefined) throw unexpectedOutput(TOOL, undefined, "the World block has no state line");
  const m = /^(0x[0-9a-fA-F]+)(?:\s+(.*))?$/.exec(state);
  if (!m) throw unexpectedOutput(TOOL, ` state ${state}`, "a World state that is not `0x<hex> <flags>`");
  const flags = (m[2] ?? "").split(/\s+/).filter((f) => f !== "");
  return {
    state,
    flags,
    initialised: flags.includes("Initialised"),
    usable: flags.includes("Usable"),
    ...(fields.mode !== undefined ? { mode: fields.mode } : {}),
    ...(fields.generation !== undefined ? { generation: fields.generation } : {}),
    fields,
  };
}

function readModuleState(mod: ModuleInfo): void {
  const state = mod.fields.state;
  if (state === undefined) throw unexpectedOutput(TOOL, `Module #${mod.index}`, "a Module block without a state line");
  const m = /^(0x[0-9a-fA-F]+)\s+(\S+)/.exec(state);
  if (!m) throw unexpectedOutput(TOOL, ` state ${state}`, "a Module state that is not `0x<hex> <name>`");
  mod.state = state;
  mod.stateName = m[2]!;
  mod.usable = m[2] === "Usable";
  if (mod.fields.esn !== undefined) mod.esn = mod.fields.esn;
}

/** How a key listed by `nfkminfo -l` is protected. */
export type KeyProtection = "module" | "cardset" | "softcard";

/** One key of `nfkminfo -l`. */
export interface NamedKey {
  /** Application, e.g. "pkcs11". */
  app: string;
  /** The key's ident (file name suffix), e.g. "ua114f...". */
  ident: string;
  /** The key's name (for pkcs11 keys: plainname = CKA_LABEL). */
  name: string;
  protection: KeyProtection;
  /** For OCS/softcard keys of the form uc<hkltu>-<hash>: the card set or softcard hash. */
  cardsetHash?: string;
}

const SECTION_HEADERS: Record<string, KeyProtection> = {
  "Keys with module protection:": "module",
  "Keys protected by cardsets:": "cardset",
  /** [I]: by analogy with the two verified headings. */
  "Keys protected by softcards:": "softcard",
};
const KEY_LINE_RE = /^key_([A-Za-z0-9]+)_(\S+) `(.*)'$/;

/** Parses `nfkminfo -l` (§3.3); throws XKS_TOOL_OUTPUT on lines it does not understand. */
export function parseNameList(text: string): NamedKey[] {
  const keys: NamedKey[] = [];
  let protection: KeyProtection | undefined;
  for (const raw of outputLines(text)) {
    const line = raw.trim();
    if (line === "") continue;
    if (line in SECTION_HEADERS) {
      protection = SECTION_HEADERS[line];
      continue;
    }
    const m = KEY_LINE_RE.exec(line);
    if (!m) throw unexpectedOutput(`${TOOL} -l`, raw, "neither a section heading nor a `key_<app>_<ident> `name'` line");
    if (!protection) throw unexpectedOutput(`${TOOL} -l`, raw, "a key line before any section heading");
    const hash = /^u[cs]([0-9a-f]{40})-[0-9a-f]{40}$/.exec(m[2]!);
    keys.push({ app: m[1]!, ident: m[2]!, name: m[3]!, protection, ...(hash && protection !== "module" ? { cardsetHash: hash[1]! } : {}) });
  }
  return keys;
}

/** One card set of `nfkminfo -c`. */
export interface CardsetInfo {
  hkltu: string;
  k: number;
  n: number;
  /** Time-out and flags column as printed (e.g. "none-NL"). */
  timeout: string;
  name: string;
}

const CARDSET_TITLE_RE = /^Cardset list - (\d+) cardsets?(?::.*)?$/;
const CARDSET_HEAD_RE = /^Operator logical token hash\s+k\/n\s+timeout\s+name$/;
const CARDSET_ROW_RE = /^([0-9a-f]{40})\s+(\d+)\/(\d+)\s+(\S+)\s+(.+)$/;

/**
 * Parses `nfkminfo -c`. PROVISIONAL: the shape is [I] (nshield-tools.md §3.4, "to be
 * confirmed"); the title, heading and row patterns are the three things to check on an HSM.
 */
export function parseCardsetList(text: string): CardsetInfo[] {
  const sets: CardsetInfo[] = [];
  let expected: number | undefined;
  for (const raw of outputLines(text)) {
    const line = raw.trim();
    if (line === "") continue;
    let m: RegExpExecArray | null;
    if ((m = CARDSET_TITLE_RE.exec(line))) expected = Number(m[1]);
    else if (CARDSET_HEAD_RE.test(line)) continue;
    else if ((m = CARDSET_ROW_RE.exec(line))) {
      const name = m[5]!.replace(/^`(.*)'$/, "$1").replace(/^"(.*)"$/, "$1");
      sets.push({ hkltu: m[1]!, k: Number(m[2]), n: Number(m[3]), timeout: m[4]!, name });
    } else throw unexpectedOutput(`${TOOL} -c`, raw, "not a card set line");
  }
  if (expected === undefined) throw unexpectedOutput(`${TOOL} -c`, undefined, "no `Cardset list - N cardsets` title");
  if (expected !== sets.length) {
    throw new XksctlError("XKS_TOOL_OUTPUT", `Unexpected output from ${TOOL} -c: the title announces ${expected} card sets but ${sets.length} were listed`);
  }
  return sets;
}

/** Runs `nfkminfo` and parses the World and Module blocks. */
export async function readWorld(exec: Exec): Promise<WorldReport> {
  const r = await runChecked(exec, { tool: TOOL, args: [], timeoutMs: TIMEOUT_MS });
  return parseWorldInfo(r.stdout);
}

/** Runs `nfkminfo -l` and parses the key list. */
export async function listNamedKeys(exec: Exec): Promise<NamedKey[]> {
  const r = await runChecked(exec, { tool: TOOL, args: ["-l"], timeoutMs: TIMEOUT_MS });
  return parseNameList(r.stdout);
}

/** Runs `nfkminfo -c` and parses the card set list (provisional format). */
export async function listCardsets(exec: Exec): Promise<CardsetInfo[]> {
  const r = await runChecked(exec, { tool: TOOL, args: ["-c"], timeoutMs: TIMEOUT_MS });
  return parseCardsetList(r.stdout);
}
