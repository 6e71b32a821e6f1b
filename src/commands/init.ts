/**
 * `xksctl init`: sets up an XKS proxy end to end, interactively (one question at a time, each
 * with a default found on the machine) or fully scripted (--yes, --answers FILE.json). nShield:
 * protection, OCS, key, credential, settings, cknfastrc, TLS key + CSR (or a chain), the KMS
 * console file, the systemd unit. softhsm: the same on a project-local SoftHSM2 token.
 */
import { JSON_OPTION, defineCommand } from "./define.js";
import type { Out } from "../context.js";
import type { InitResult } from "../workflows/init/flow.js";
import type { InitPlan } from "../workflows/init/plan.js";
import type { ExistingSetup } from "../workflows/init/existing.js";
import type { AnswerKey, Answers } from "../workflows/init/answers.js";

/** Permission bits as chmod takes them (0600); platform/secret-file.ts formatMode, not imported: commands load no work before run(). */
const MODE = (m: number) => m.toString(8).padStart(4, "0");

/** The commander option name of an answer: the flag camel-cased as commander does ("key-id" → keyId). */
type OptionName<K extends string> = K extends `${infer H}-${infer T}` ? `${H}${Capitalize<OptionName<T>>}` : K;

/** One option per answer (init/answers.ts ANSWER_KEYS), plus the answers file and --json. */
type InitOptions = Partial<Record<OptionName<AnswerKey>, string | boolean>> & { answers?: string; json?: boolean };

/** The command line's answers: each of `keys` read from its option. */
export function flagAnswers(o: InitOptions, keys: readonly AnswerKey[]): Answers {
  const pairs = keys.map((k) => [k, o[k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as OptionName<AnswerKey>]] as const);
  return Object.fromEntries(pairs.filter(([, v]) => v !== undefined)) as Answers;
}

function renderPlan(out: Out, plan: InitPlan): void {
  out.write(`\nSummary: nothing has been changed yet.\n`);
  if (plan.actions.length > 0) {
    out.write(`In the HSM:\n`);
    for (const a of plan.actions) out.write(`  • ${a}\n`);
  }
  out.write(`Files:\n`);
  const w = Math.max(...plan.files.map((f) => f.path.length));
  for (const f of plan.files) {
    const mode = f.secret ? "0600" : f.action === "update" ? "kept" : MODE(f.mode);
    out.write(`  ${f.action.padEnd(7)} ${f.path.padEnd(w)}  ${mode}  ${f.what}${f.action !== "create" ? " (old version kept as .bak)" : ""}\n`);
    if (f.diff) for (const l of f.diff.trimEnd().split("\n")) out.write(`      ${l}\n`);
  }
  for (const n of plan.notes) out.write(`Note: ${n}\n`);
  out.write("\n");
}

function renderExisting(out: Out, e: ExistingSetup): void {
  out.write(`${e.settingsFile} exists: ${e.works ? "the setup works" : "the setup does not work"}.\n`);
  for (const f of e.fine) out.write(`  ✔ ${f}\n`);
  for (const b of e.broken) out.write(`  ✖ ${b}\n`);
  for (const p of e.pending) out.write(`  … ${p}\n`);
}

function renderResult(out: Out, r: InitResult): void {
  if (r.outcome === "declined") {
    out.write("Nothing was changed.\n");
    return;
  }
  if (r.outcome === "kept") {
    out.write(`✔ Kept the setup in ${r.dir} as it is (keys: ${r.keyIds.join(", ") || "none"}).\n`);
    for (const n of r.next) out.write(`Next: ${n}\n`);
    return;
  }
  out.write(r.outcome === "added" ? `✔ Added ${r.keyIds.at(-1)} to ${r.settingsFile}\n` : `✔ ${r.backend === "softhsm" ? "Key store ready" : "XKS proxy set up"} in ${r.dir}\n`);
  for (const a of r.actions) out.write(`  done     ${a}\n`);
  for (const f of r.files) out.write(`  ${f.action === "create" ? "wrote   " : "updated "} ${f.path} (mode ${MODE(f.mode)})${f.backup ? `, previous version ${f.backup}` : ""}\n`);
  if (r.tls) out.write(`  TLS      ${r.tls.mode === "csr" ? `key ${r.tls.keyFile} and CSR ${r.tls.csrFile} for ${r.tls.endpoint}` : r.tls.mode === "self-signed" ? `${r.tls.certFile} (self-signed, for local use only)` : `${r.tls.certFile} (checked against ${r.tls.keyFile})`}\n`);
  if (r.credential) {
    out.write(`  SigV4    access key id ${r.credential.accessKeyId}${r.credential.kept ? " (kept)" : ""}\n`);
    if (r.credential.secretAccessKey) out.write(`           secret ${r.credential.secretAccessKey}  (shown once; it is in the settings file${r.consoleJson ? " and the KMS console file" : ""})\n`);
  }
  for (const w of r.warnings) out.write(`warning: ${w}\n`);
  if (r.awsCommand) out.write(`\nThe AWS side (prints the AWS CLI commands for this key store; KMS needs the certificate first):\n  ${r.awsCommand}\n`);
  if (r.curl) out.write(`\nThen encrypt through it, signed as KMS signs:\n${r.curl}\n`);
  if (r.next.length > 0) {
    out.write(`\nNext:\n`);
    r.next.forEach((n, i) => out.write(`  ${i + 1}. ${n}\n`));
  }
}

export const initCommand = defineCommand<InitOptions>({
  name: "init",
  description: "set up the XKS proxy: HSM key, SigV4 credential, settings, TLS key + CSR, cknfastrc, KMS console file, systemd unit",
  options: [
    { flags: "--backend <kind>", description: "nshield or softhsm (default: nshield when its tools are found, else softhsm)" },
    { flags: "--dir <dir>", description: "folder for the settings and the files init writes (nshield: /etc/xksctl, softhsm: .xksctl)" },
    { flags: "-y, --yes", description: "no questions: take the defaults for what is not given and confirm the summary" },
    { flags: "--answers <file>", description: 'JSON answers, keys = these flags\' names: {"protection": "module", "key-id": "xks-key-1"}' },
    { flags: "--force", description: "replace an existing setup in --dir (old files kept as .bak)" },
    { flags: "--existing <action>", description: "for a configured --dir: keep, change or add (a key)" },
    { flags: "--protection <method>", description: "module or ocs (nshield)" },
    { flags: "--cardset <name>", description: "existing Operator Card Set protecting the key" },
    { flags: "--create-ocs <name>", description: "create this Operator Card Set with createocs (needs a terminal)" },
    { flags: "--quorum <k/n>", description: "cards needed / cards in a new card set, e.g. 1/1 or 2/3" },
    { flags: "--pin-file <file>", description: "file (mode 0600) holding the card set's passphrase, the PKCS#11 PIN" },
    { flags: "--key-id <id>", description: "the key's name: CKA_LABEL and XKS key id (default: xks-key-N; softhsm demo-key)" },
    { flags: "--use-existing-key", description: "use the key named by --key-id instead of creating it" },
    { flags: "--prefix <path>", description: 'URI path prefix of the key store (nshield default /nshield/xks; "" for none)' },
    { flags: "--endpoint <dns-name>", description: "DNS name KMS connects to (https://NAME; no port, no IP)" },
    { flags: "--ip <addr>", description: "address to listen on (nshield 0.0.0.0, softhsm 127.0.0.1)" },
    { flags: "-p, --port <port>", description: "XKS API port (nshield 443, softhsm 8443)" },
    { flags: "--ping-port <port>", description: "plain-HTTP /ping port (nshield 80, softhsm port + 1)" },
    { flags: "--region <region>", description: "AWS region of the KMS key store (default us-east-1)" },
    { flags: "--tls <mode>", description: "csr (new key + CSR; nshield default), existing, or self-signed (softhsm default; tests only)" },
    { flags: "--tls-cert <chain.pem>", description: "existing certificate chain (with --tls-key)" },
    { flags: "--tls-key <key.pem>", description: "its private key" },
    { flags: "--install-service", description: "also install the systemd unit (into --systemd-dir)" },
    { flags: "--systemd-dir <dir>", description: "where --install-service puts xksctl.service (default /etc/systemd/system)" },
    { flags: "--token-label <label>", description: "softhsm: label of the token (default xksctl-demo)" },
    JSON_OPTION,
  ],
  examples: [
    "xksctl init",
    "xksctl init --backend nshield --protection module --key-id xks-key-1 --endpoint xks.example.com --yes",
    "xksctl init --backend nshield --protection ocs --cardset xksocs --pin-file /root/ocs-pin --endpoint xks.example.com --yes",
    "xksctl init --answers answers.json",
    "xksctl init --backend softhsm --dir .xksctl --port 8443 --yes",
  ],
  async run(opts, _args, ctx) {
    const { operatorDeps } = await import("../workflows/deps.js");
    const { ANSWER_KEYS, mergeAnswers, readAnswersFile } = await import("../workflows/init/answers.js");
    const { chooseBackend } = await import("../workflows/init/flow.js");
    const { printJson } = await import("../ui/output.js");
    const fromFile = opts.answers ? readAnswersFile(opts.answers, ctx.cwd) : {};
    const answers = mergeAnswers(fromFile, flagAnswers(opts, Object.keys(ANSWER_KEYS) as AnswerKey[]));
    const backend = chooseBackend(answers, ctx.env);
    const ops = operatorDeps(ctx);
    const talk = opts.json ? ctx.stderr : ctx.stdout;
    const deps = {
      ...ops,
      env: ctx.env,
      cwd: ctx.cwd,
      now: ctx.now,
      prompts: ctx.prompts,
      interactive: ctx.interactive && !opts.json,
      note: (l: string) => ctx.stderr.write(`${l}\n`),
      showPlan: (p: InitPlan) => renderPlan(talk, p),
      showExisting: (e: ExistingSetup) => renderExisting(talk, e),
    };
    const r =
      backend === "nshield"
        ? await (await import("../workflows/init/nshield.js")).initNshield(deps, answers)
        : await (await import("../workflows/init/softhsm.js")).initSoftHsm(deps, answers);
    if (opts.json) printJson(ctx.stdout, r);
    else renderResult(ctx.stdout, r);
    return r.outcome === "declined" ? 1 : 0;
  },
});
