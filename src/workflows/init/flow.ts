/**
 * `xksctl init`: the flow shared by both backends. The backend is nshield when the nShield
 * tools are found (PATH, $NFAST_HOME/bin, /opt/nfast/bin), else softhsm. A configured folder is
 * detected first (keep / change / add a key); then the backend's dialog, one summary, and only
 * after it is confirmed the HSM steps, the round trip with the key, and the files.
 */
import type { Prompts } from "../../context.js";
import type { Settings } from "../../config/types.js";
import { XksctlError } from "../../errors.js";
import { parseUriPrefix } from "../../rules.js";
import type { Hsm } from "../../hsm/types.js";
import type { Exec } from "../../platform/exec.js";
import { askChoice, askYesNo, type Dialog } from "./ask.js";
import type { AnswerKey, Answers } from "./answers.js";
import type { ExistingSetup } from "./existing.js";
import type { InitPlan, WrittenFile } from "./plan.js";
import { nshieldToolsPresent } from "./probe.js";

/** The effects init uses; the command passes the real ones, tests may wrap them. */
export interface InitDeps {
  exec: Exec;
  openHsm(settings: Settings): Promise<Hsm>;
  randomBytes(n: number): Buffer;
  env: NodeJS.ProcessEnv;
  cwd: string;
  now(): number;
  prompts: Prompts;
  /** A terminal is attached (prompts; createocs and generatekey may ask for cards there). */
  interactive: boolean;
  /** A progress line for the admin (stderr). */
  note(line: string): void;
  /** Shows the summary before the confirmation. */
  showPlan(plan: InitPlan): void;
  /** Shows the state of a configured folder. */
  showExisting(existing: ExistingSetup): void;
}

/** What init did, for the final report. `secretAccessKey` is shown once. */
export interface InitResult {
  backend: "nshield" | "softhsm";
  /** "written": a new or changed setup; "kept": the folder was left as it was; "added": a key added; "declined": nothing written. */
  outcome: "written" | "kept" | "added" | "declined";
  dir: string;
  settingsFile: string;
  findings: string[];
  actions: string[];
  files: WrittenFile[];
  keyIds: string[];
  protection?: "module" | "ocs";
  cardset?: string;
  tokenLabel?: string;
  credential?: { accessKeyId: string; secretAccessKey?: string; kept: boolean };
  tls?: { mode: "csr" | "existing" | "self-signed"; certFile: string; keyFile: string; csrFile?: string; endpoint: string };
  consoleJson?: string;
  service?: { unitFile: string; installedAt?: string };
  /** The `xksctl aws` command for this setup. */
  awsCommand?: string;
  /** softhsm: a signed curl call against the running proxy. */
  curl?: string;
  next: string[];
  warnings: string[];
}

/** The dialog from the answers and the context. */
export function dialogOf(deps: InitDeps, answers: Answers): Dialog {
  return { answers, interactive: deps.interactive, yes: answers.yes === true, prompts: deps.prompts };
}

/** The backend: the answer, else nshield when its tools are found, else softhsm. */
export function chooseBackend(answers: Answers, env: NodeJS.ProcessEnv): "nshield" | "softhsm" {
  const given = answers.backend;
  if (given === "nshield" || given === "softhsm") return given;
  return nshieldToolsPresent(env) ? "nshield" : "softhsm";
}

/** The URI path prefix asked for ("none" for none). */
export function parsePrefixAnswer(raw: string): string {
  return parseUriPrefix(raw === "none" ? "" : raw.trim(), "--prefix", raw);
}

/** The one value of a string answer, if given. */
export function answer(a: Answers, key: AnswerKey): string | undefined {
  const v = a[key];
  return typeof v === "string" ? v : undefined;
}

/** What to do with a configured folder: keep it, change it, or add a key. */
export async function chooseExistingAction(d: Dialog, e: ExistingSetup): Promise<"keep" | "change" | "add"> {
  const given = d.answers.existing;
  if (given === "keep" || given === "change" || given === "add") return given;
  if (d.answers.force === true) return "change";
  if (d.interactive && !d.yes) {
    return askChoice(d, "existing", {
      message: `${e.settingsFile} is already set up. What now?`,
      choices: [
        { value: "keep", name: "keep it", description: "change nothing" },
        { value: "change", name: "change it", description: "answer the questions again, starting from the current values; old files are kept as .bak" },
        { value: "add", name: "add a key", description: "create or pick one more AES-256 key and list it in the key store" },
      ],
      default: e.works ? "keep" : "change",
    });
  }
  if (d.yes) return "keep";
  throw new XksctlError("XKS_PROMPT_NEEDED", `${e.settingsFile} is already set up, and there is no terminal to ask what to do.`, {
    remedy: "Pass --yes (keep it when it works), --force (replace it, old files kept as .bak) or --existing keep|change|add.",
  });
}

/** "keep": exit 0 when the setup works (pending steps listed), else XKS_SETUP_EXISTS naming --force. */
export function keepExisting(backend: InitResult["backend"], dir: string, e: ExistingSetup, findings: string[]): InitResult {
  if (!e.works) {
    throw new XksctlError("XKS_SETUP_EXISTS", `${e.settingsFile} holds a setup that does not work; nothing was changed.`, { details: e.broken });
  }
  return {
    backend,
    outcome: "kept",
    dir,
    settingsFile: e.settingsFile,
    findings,
    actions: [],
    files: [],
    keyIds: e.values.keyIds,
    ...(e.values.protection ? { protection: e.values.protection } : {}),
    ...(e.values.cardset ? { cardset: e.values.cardset } : {}),
    next: e.pending,
    warnings: [],
  };
}

/** Shows the plan and asks to go on (the `--yes` question); false: nothing is done. */
export async function confirmPlan(deps: InitDeps, d: Dialog, plan: InitPlan): Promise<boolean> {
  deps.showPlan(plan);
  return askYesNo(d, "yes", { message: "Make these changes?", default: true, required: true });
}

/** The result of a declined summary. */
export function declined(backend: InitResult["backend"], dir: string, settingsFile: string, findings: string[]): InitResult {
  return { backend, outcome: "declined", dir, settingsFile, findings, actions: [], files: [], keyIds: [], next: [], warnings: [] };
}
