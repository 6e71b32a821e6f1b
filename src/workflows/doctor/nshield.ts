/**
 * Group `nshield`: the Security World software and the HSMs behind libcknfast, read with the
 * same parsers as `xksctl hsm status` (enquiry, nfkminfo). Not applicable, so skipped, on a
 * machine that is not an nShield client (SoftHSM setups): neither the PKCS#11 library nor the
 * tools are nShield's, and the group was not asked for by name.
 */
import path from "node:path";
import { cknfastPlan, defaultCknfastrcPath, parseCknfastrc } from "../../config/cknfastrc.js";
import { ERROR_CATALOGUE, XksctlError, isXksctlError } from "../../errors.js";
import { enquiryModuleProblem, hardserverProblem, readEnquiry, type EnquiryReport } from "../../hsm/nfast/enquiry.js";
import { listCardsets, listNamedKeys, modeNeedsCardForKeyGeneration, readWorld, type CardsetInfo, type NamedKey, type WorldReport } from "../../hsm/nfast/nfkminfo.js";
import { worldProblems } from "../../hsm/nfast/status.js";
import { nfastHome } from "../../platform/exec.js";
import { settingsFacts } from "./facts.js";
import { failOf, notApplicable, type CheckOutcome, type DoctorCheck, type DoctorRun } from "./types.js";

/** The tools doctor reads, and the ones the operator verbs need. */
const READ_TOOLS = ["enquiry", "nfkminfo"];
const VERB_TOOLS = ["generatekey", "createocs"];
/** TCP port between an HSM client and a network HSM (Entrust's XKS integration guide). */
const NETHSM_PORT = 9004;

/** $NFAST_HOME (default /opt/nfast) and $NFAST_KMDATA (default $NFAST_HOME/kmdata). */
function nfastDirs(env: NodeJS.ProcessEnv): { home: string; kmdata: string } {
  const home = nfastHome(env);
  return { home, kmdata: env.NFAST_KMDATA && env.NFAST_KMDATA !== "" ? env.NFAST_KMDATA : path.join(home, "kmdata") };
}

/** Does this host look like an nShield client (library or tools), or did the admin ask for the group? */
async function applicability(run: DoctorRun): Promise<{ applicable: boolean; why: string }> {
  return run.once("nshield-applicable", async () => {
    if (run.opts.explicitGroups && run.opts.groups?.includes("nshield")) return { applicable: true, why: "asked for with --group nshield" };
    const s = await settingsFacts(run);
    const module = s.settings?.pkcs11.PKCS11_HSM_MODULE;
    if (module && /cknfast/i.test(path.basename(module))) return { applicable: true, why: `the PKCS#11 library is ${module}` };
    const found = READ_TOOLS.filter((t) => run.deps.findTool(t) !== undefined);
    if (found.length > 0) return { applicable: true, why: `${found.join(", ")} installed` };
    const lib = module ? path.basename(module) : "not nShield's";
    return { applicable: false, why: `no nShield here (PKCS#11 library ${lib}, no nShield tools installed)` };
  });
}

/** A tool's output or its failure, read once. */
async function fact<T>(run: DoctorRun, key: string, read: () => Promise<T>): Promise<{ value?: T; error?: XksctlError }> {
  return run.once(key, async () => {
    try {
      return { value: await read() };
    } catch (err) {
      if (isXksctlError(err)) return { error: err };
      throw err;
    }
  });
}

const enquiryFact = (run: DoctorRun) => fact<EnquiryReport>(run, "nshield-enquiry", () => readEnquiry(run.deps.exec));
const worldFact = (run: DoctorRun) => fact<WorldReport>(run, "nshield-world", () => readWorld(run.deps.exec));
const namedKeysFact = (run: DoctorRun) => fact<NamedKey[]>(run, "nshield-keys", () => listNamedKeys(run.deps.exec));
const cardsetsFact = (run: DoctorRun) => fact<CardsetInfo[]>(run, "nshield-cardsets", () => listCardsets(run.deps.exec));

/** cknfastrc's variables with this environment's overrides (the environment wins, as in libcknfast). */
function cknfastVars(run: DoctorRun): { file: string; vars: Map<string, string>; fromEnv: Set<string> } {
  const file = defaultCknfastrcPath(run.deps.env);
  let text = "";
  try {
    text = run.deps.readFile(file);
  } catch {
    /* no cknfastrc: the environment alone */
  }
  const vars = parseCknfastrc(text);
  const fromEnv = new Set<string>();
  for (const [k, v] of Object.entries(run.deps.env)) {
    if (k.startsWith("CKNFAST_") && v !== undefined) {
      vars.set(k, v);
      fromEnv.add(k);
    }
  }
  return { file, vars, fromEnv };
}

/** The protection of the keys the stores use: from `nfkminfo -l`, else the token label (a card set name means OCS). */
async function protectionInUse(run: DoctorRun): Promise<{ methods: Set<"module" | "ocs">; how: string }> {
  return run.once("nshield-protection", async () => {
    const s = await settingsFacts(run);
    const ids = new Set(s.settings?.external_key_stores.flatMap((st) => st.xks_key_id_set) ?? []);
    const named = await namedKeysFact(run);
    const methods = new Set<"module" | "ocs">();
    for (const k of named.value ?? []) {
      if (k.app === "pkcs11" && ids.has(k.name)) methods.add(k.protection === "module" ? "module" : "ocs");
    }
    if (methods.size > 0) return { methods, how: "the stores' keys in `nfkminfo -l`" };
    const label = s.settings?.pkcs11.token_label;
    const sets = await cardsetsFact(run);
    if (label && (sets.value ?? []).some((c) => c.name === label)) return { methods: new Set(["ocs"] as const), how: `token_label ${JSON.stringify(label)} is a card set` };
    return { methods: new Set(["module"] as const), how: "no store key in `nfkminfo -l` and token_label is no card set, so module protection is assumed" };
  });
}

/** Runs a check only where nShield applies; otherwise "not applicable". */
function nshieldCheck(c: Omit<DoctorCheck, "group" | "run"> & { run(run: DoctorRun): Promise<CheckOutcome> }): DoctorCheck {
  return {
    ...c,
    group: "nshield",
    async run(run) {
      const a = await applicability(run);
      if (!a.applicable) return notApplicable(a.why);
      return c.run(run);
    },
  };
}

const toolsCheck = nshieldCheck({
  id: "nshield.tools",
  title: "the Security World tools are installed (enquiry, nfkminfo; generatekey and createocs for the operator verbs)",
  needs: [],
  async run(run) {
    const where = (t: string) => run.deps.findTool(t);
    const missing = READ_TOOLS.filter((t) => !where(t));
    if (missing.length > 0) {
      return { status: "fail", message: `${missing.join(", ")} not found on PATH, in $NFAST_HOME/bin or in /opt/nfast/bin`, fix: ERROR_CATALOGUE.XKS_TOOL_MISSING.remedy };
    }
    const dir = path.dirname(where(READ_TOOLS[0]!)!);
    const verbsMissing = VERB_TOOLS.filter((t) => !where(t));
    if (verbsMissing.length > 0) {
      return { status: "warn", message: `${READ_TOOLS.join(", ")} in ${dir}; ${verbsMissing.join(", ")} not found (\`xksctl keys create\` and \`xksctl ocs create\` need them)`, fix: "Install the full Security World software (or set NFAST_HOME to where it lives)." };
    }
    return { status: "pass", message: `${[...READ_TOOLS, ...VERB_TOOLS].join(", ")} in ${dir}` };
  },
});

const hardserverCheck = nshieldCheck({
  id: "nshield.hardserver",
  title: "the hardserver answers `enquiry`: mode operational, reply flags none",
  needs: ["nshield.tools"],
  async run(run) {
    const e = await enquiryFact(run);
    if (e.error) return failOf(e.error);
    const s = e.value!.server;
    const down = hardserverProblem(s);
    if (down) return { status: "fail", message: down, fix: ERROR_CATALOGUE.XKS_HARDSERVER_DOWN.remedy };
    return { status: "pass", message: `operational${s.version ? `, version ${s.version}` : ""}` };
  },
});

/** The network HSMs of the hardserver's client configuration ([nethsm_imports] remote_ip / remote_port). */
function parseNethsmImports(text: string): { ip: string; port: number; esn?: string }[] {
  const out: { ip: string; port: number; esn?: string }[] = [];
  let section = "";
  let cur: Record<string, string> = {};
  const flush = () => {
    if (section === "nethsm_imports" && cur.remote_ip) out.push({ ip: cur.remote_ip, port: cur.remote_port && /^\d+$/.test(cur.remote_port) ? Number(cur.remote_port) : NETHSM_PORT, ...(cur.remote_esn ? { esn: cur.remote_esn } : {}) });
    cur = {};
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      flush();
      section = sec[1]!.trim();
      continue;
    }
    if (/^-+$/.test(line)) {
      flush();
      continue;
    }
    const kv = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (kv) {
      // A key seen again starts the next entry even without a separator line.
      if (kv[1]! in cur) flush();
      cur[kv[1]!] = kv[2]!.trim();
    }
  }
  flush();
  return out;
}

const networkCheck = nshieldCheck({
  id: "nshield.network",
  title: "every network HSM of the hardserver's configuration is reachable on its TCP port (9004)",
  needs: ["nshield.tools"],
  async run(run) {
    const file = path.join(nfastDirs(run.deps.env).kmdata, "config", "config");
    let text: string;
    try {
      text = run.deps.readFile(file);
    } catch {
      return notApplicable(`no ${file} (no network HSM configured)`);
    }
    const hsms = parseNethsmImports(text);
    if (hsms.length === 0) return notApplicable(`${file} imports no network HSM`);
    const down: string[] = [];
    for (const h of hsms) {
      try {
        await run.deps.tcpConnect(h.ip, h.port, 3000);
      } catch (err) {
        down.push(`${h.ip}:${h.port}${h.esn ? ` (ESN ${h.esn})` : ""} ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    if (down.length > 0) {
      return { status: "fail", message: `not reachable: ${down.join("; ")}`, fix: `Open TCP ${hsms[0]!.port} from this host to the HSM (firewall) and check the HSM is on the network; its address is in ${file}.` };
    }
    return { status: "pass", message: hsms.map((h) => `${h.ip}:${h.port}`).join(", ") + " reachable" };
  },
});

const worldCheck = nshieldCheck({
  id: "nshield.world",
  title: "the Security World is `Initialised Usable` (nfkminfo)",
  needs: ["nshield.hardserver"],
  async run(run) {
    const w = await worldFact(run);
    if (w.error) return failOf(w.error);
    const world = w.value!.world;
    if (!world.initialised || !world.usable) {
      return { status: "fail", message: `the Security World is not usable (state ${world.state})`, fix: ERROR_CATALOGUE.XKS_WORLD_UNUSABLE.remedy };
    }
    return { status: "pass", message: `Initialised Usable${world.generation ? ` (generation ${world.generation})` : ""}` };
  },
});

const modulesCheck = nshieldCheck({
  id: "nshield.modules",
  title: "every HSM module is `Usable` (nfkminfo) and operational (enquiry)",
  needs: ["nshield.hardserver"],
  async run(run) {
    const w = await worldFact(run);
    if (w.error) return failOf(w.error);
    const e = await enquiryFact(run);
    const problems = worldProblems(w.value!).filter((p) => p.code === "XKS_MODULE_UNUSABLE").map((p) => p.message.replace(/\.$/, ""));
    for (const m of e.value?.modules ?? []) {
      const unusable = enquiryModuleProblem(m);
      if (unusable) problems.push(unusable);
    }
    if (problems.length > 0) return { status: "fail", message: problems.join("; "), fix: ERROR_CATALOGUE.XKS_MODULE_UNUSABLE.remedy };
    const mods = w.value!.modules.map((m) => `#${m.index}${m.esn ? ` (ESN ${m.esn})` : ""}`);
    return { status: "pass", message: `${mods.length === 1 ? "module" : "modules"} ${mods.join(", ")} usable` };
  },
});

const worldModeCheck = nshieldCheck({
  id: "nshield.world-mode",
  title: "the world mode (FIPS 140 Level 3 worlds need a card to create keys)",
  needs: ["nshield.world"],
  async run(run) {
    const mode = (await worldFact(run)).value!.world.mode;
    if (modeNeedsCardForKeyGeneration(mode)) {
      return { status: "warn", message: `world mode ${mode}: creating a key needs an Administrator or Operator Card`, fix: "Have a card of this world at hand for `xksctl keys create` (run it from a terminal)." };
    }
    return { status: "pass", message: `world mode ${mode ?? "(not shown)"}` };
  },
});

const cardlistCheck = nshieldCheck({
  id: "nshield.cardlist",
  title: "for OCS protection, the hardserver's cardlist file admits cards (serial numbers or *)",
  needs: ["nshield.tools"],
  async run(run) {
    const p = await protectionInUse(run);
    if (!p.methods.has("ocs")) return notApplicable(`module protection (${p.how})`);
    const file = path.join(nfastDirs(run.deps.env).kmdata, "config", "cardlist");
    let text: string;
    try {
      text = run.deps.readFile(file);
    } catch (err) {
      return { status: "fail", message: `the keys are OCS-protected but ${file} is missing (${(err as NodeJS.ErrnoException).code ?? "unreadable"}): no card is admitted`, fix: `Write the card serial numbers (or * for any card), one a line, into ${file}, then restart the hardserver.` };
    }
    const entries = text.split(/\r?\n/).map((l) => l.replace(/#.*$/, "").trim()).filter((l) => l !== "");
    if (entries.length === 0) return { status: "fail", message: `${file} lists no card: no Operator Card is admitted`, fix: `Write the card serial numbers (or * for any card), one a line, into ${file}, then restart the hardserver.` };
    return { status: "pass", message: entries.includes("*") ? `${file} admits any card (*)` : `${file} admits ${entries.length} card${entries.length === 1 ? "" : "s"}` };
  },
});

const cknfastrcCheck = nshieldCheck({
  id: "nshield.cknfastrc",
  title: "cknfastrc fits the protection in use: CKNFAST_FAKE_ACCELERATOR_LOGIN=1 for module, CKNFAST_NO_ACCELERATOR_SLOTS=1 for OCS",
  needs: ["nshield.tools"],
  async run(run) {
    const p = await protectionInUse(run);
    const { file, vars, fromEnv } = cknfastVars(run);
    if (p.methods.size > 1) {
      return { status: "warn", message: `the stores' keys use both module and OCS protection (${p.how}); one PKCS#11 token serves only one of them`, fix: "Keep the keys of one store under one protection method, or run one proxy per method." };
    }
    const method = [...p.methods][0]!;
    const plan = cknfastPlan(method);
    const wrong: string[] = [];
    for (const [name, want] of [...Object.entries(plan.set), ...Object.entries(plan.resetIfPresent)]) {
      const have = vars.get(name);
      const required = name in plan.set;
      if (required ? have !== want : have !== undefined && have !== want) {
        wrong.push(`${name}=${have ?? "(unset)"}${fromEnv.has(name) ? " (from the environment)" : ""}, needs ${want}`);
      }
    }
    if (wrong.length > 0) {
      return { status: "fail", message: `${method} protection (${p.how}) but ${wrong.join("; ")} in ${file}`, fix: `Run \`xksctl config cknfastrc --protection ${method}\`, then restart the proxy.` };
    }
    return { status: "pass", message: `${method} protection (${p.how}): ${Object.entries(plan.set).map(([k, v]) => `${k}=${v}`).join(", ")} in ${file}` };
  },
});

const haCheck = nshieldCheck({
  id: "nshield.ha",
  title: "more than one module uses load sharing (CKNFAST_LOADSHARING=1); otherwise the proxy has no HA",
  needs: ["nshield.modules"],
  async run(run) {
    const n = (await worldFact(run)).value!.modules.length;
    const { file, vars } = cknfastVars(run);
    if (n > 1 && vars.get("CKNFAST_LOADSHARING") !== "1") {
      return { status: "warn", message: `${n} modules, but CKNFAST_LOADSHARING is not 1: the proxy uses one of them and stops when it fails (no HA)`, fix: `Add CKNFAST_LOADSHARING=1 to ${file}, then restart the proxy.` };
    }
    return { status: "pass", message: n > 1 ? `${n} modules with load sharing` : "one module (a second HSM with CKNFAST_LOADSHARING=1 would add HA)" };
  },
});

export const NSHIELD_CHECKS: readonly DoctorCheck[] = [toolsCheck, hardserverCheck, networkCheck, worldCheck, modulesCheck, worldModeCheck, cardlistCheck, cknfastrcCheck, haCheck];
