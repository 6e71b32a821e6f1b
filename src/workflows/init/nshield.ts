/**
 * `xksctl init` on an nShield HSM client: protection (module or OCS), the card set (existing or
 * created with createocs), the AES-256 key (generatekey pkcs11 or an existing one, checked with a
 * PKCS#11 round trip), the SigV4 credential, the settings, cknfastrc, the TLS key and CSR (or an
 * existing chain), the KMS console file and the systemd unit. The HSM steps are the operator
 * verbs' own (hsm/nfast, workflows); this file is the dialog and the order.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { applyCknfastPlan, cknfastEnvOverrides, cknfastPlan, type CknfastPlan } from "../../config/cknfastrc.js";
import { newCredential } from "../../config/creds.js";
import { renderService } from "../../config/render-service.js";
import { XksctlError, isXksctlError } from "../../errors.js";
import { checkCardSetName, parseQuorum } from "../../hsm/nfast/createocs.js";
import type { NamedKey } from "../../hsm/nfast/nfkminfo.js";
import { packagePath } from "../../platform/package-root.js";
import { formatMode, readPrivateFile } from "../../platform/secret-file.js";
import { endpointNameProblem, type TlsProblem } from "../../platform/x509.js";
import { assertKeyId, parsePort, parseRegion, uriPathOf } from "../../rules.js";
import { generateXksKey } from "../create-key.js";
import { createCardSet } from "../create-ocs.js";
import { consoleConfigText } from "../credentials.js";
import { assertEndpointName, checkTlsFiles, csrPathFor, newKeyAndCsr, type KeyAndCsr } from "../tls-files.js";
import type { Answers } from "./answers.js";
import { askChoice, askSecretTwice, askText, askYesNo, type Dialog } from "./ask.js";
import { inspectExisting, type ExistingSetup } from "./existing.js";
import { addExistingKey, addNewKey, roundTripWith } from "./keys.js";
import { selfSignedPair } from "./tls.js";
import { answer, chooseExistingAction, confirmPlan, declined, dialogOf, keepExisting, parsePrefixAnswer, type InitDeps, type InitResult } from "./flow.js";
import { plannedEdit, plannedFile, writePlannedFiles, type InitPlan, type PlannedFile } from "./plan.js";
import { probeNshield, tokenLabelFor, type NshieldMachine } from "./probe.js";
import { renderInitSettings, settingsFromText, type InitSettings } from "./settings-text.js";

/** Where the settings live unless --dir says otherwise. */
const NSHIELD_DEFAULT_DIR = "/etc/xksctl";
/** Where --install-service puts the unit unless --systemd-dir says otherwise. */
const SYSTEMD_DIR = "/etc/systemd/system";
const NEW = "+new";

/** Reads a PIN file named by --pin-file; refuses one that other users can read. */
function readPinFile(file: string): { pin: string; warning?: string } {
  const { text, mode } = readPrivateFile(file, "PIN");
  if ((mode & 0o007) !== 0) {
    throw new XksctlError("XKS_SECRET_SOURCE", `The PIN file ${file} is readable by every user (mode ${formatMode(mode)}).`, { remedy: `Run chmod 600 ${file}, then init again.` });
  }
  const pin = text.replace(/\r?\n$/, "");
  if (pin === "") throw new XksctlError("XKS_SECRET_SOURCE", `The PIN file ${file} is empty; it must hold the card set's passphrase.`);
  return { pin, ...((mode & 0o070) !== 0 ? { warning: `${file} is readable by its group (mode ${formatMode(mode)}); 0600 is safer` } : {}) };
}

/** The first free "xks-key-N". */
function freeKeyId(keys: readonly NamedKey[]): string {
  for (let i = 1; ; i++) if (!keys.some((k) => k.name === `xks-key-${i}`)) return `xks-key-${i}`;
}

/** This host's name when it is a DNS name KMS could use. */
function hostDefault(): string | undefined {
  const h = os.hostname();
  return endpointNameProblem(h) === null ? h : undefined;
}

function parseEndpoint(raw: string): string {
  const v = raw.trim().replace(/\.$/, "");
  assertEndpointName(v, "--endpoint", raw);
  return v.toLowerCase();
}

/** The cknfastrc lines of a protection, plus load sharing when the setup uses it. */
function initCknfastPlan(protection: "module" | "ocs", loadSharing: boolean): CknfastPlan {
  const plan = cknfastPlan(protection);
  return loadSharing ? { set: { ...plan.set, CKNFAST_LOADSHARING: "1" }, resetIfPresent: plan.resetIfPresent } : plan;
}

/** The TLS part of the answers. */
interface TlsChoice {
  mode: "csr" | "existing" | "self-signed";
  certFile: string;
  keyFile: string;
  csrFile?: string;
  warnings: string[];
}

/** Asks for an existing chain and key until they fit (on a terminal), or checks the given ones. */
async function askExistingTls(d: Dialog, deps: InitDeps, endpoint: string, defaults: { cert?: string; key?: string }): Promise<TlsChoice> {
  const fromAnswers = d.answers["tls-cert"] !== undefined;
  for (;;) {
    const certFile = await askText(d, "tls-cert", { message: "Certificate chain file (PEM: the server certificate first, then its intermediates)", ...(defaults.cert ? { default: defaults.cert } : {}), parse: (v) => path.resolve(deps.cwd, v.trim()) });
    const keyFile = await askText(d, "tls-key", { message: "Its private key file (PEM, unencrypted)", ...(defaults.key ? { default: defaults.key } : {}), parse: (v) => path.resolve(deps.cwd, v.trim()) });
    let problems: TlsProblem[];
    try {
      problems = checkTlsFiles(certFile, keyFile, { endpoint, now: new Date(deps.now()) }).problems;
    } catch (err) {
      if (!isXksctlError(err) || fromAnswers || !d.interactive || d.yes) throw err;
      deps.note(`✖ ${err.message}`);
      continue;
    }
    const fails = problems.filter((p) => p.severity === "fail");
    if (fails.length === 0) return { mode: "existing", certFile, keyFile, warnings: problems.map((p) => p.message) };
    if (fromAnswers || !d.interactive || d.yes) {
      throw new XksctlError("XKS_TLS_FILES", `${certFile} and ${keyFile} cannot serve ${endpoint}: ${fails.length} problem${fails.length === 1 ? "" : "s"}; nothing was written.`, {
        details: fails.map((p) => `${p.code}: ${p.message}`),
        remedy: "Fix the files (full chain in order, the key that belongs to it, a name covering the endpoint), or leave --tls-cert out to get a key and CSR.",
      });
    }
    for (const p of fails) deps.note(`✖ ${p.message}`);
  }
}

/** Runs init for nShield. */
export async function initNshield(deps: InitDeps, a: Answers): Promise<InitResult> {
  const d = dialogOf(deps, a);
  const dir = path.resolve(deps.cwd, answer(a, "dir") ?? NSHIELD_DEFAULT_DIR);
  const settingsFile = path.join(dir, "settings.toml");
  const m = await probeNshield(deps.exec, deps.env);
  deps.note(`nShield: ${m.findings.join("; ")}`);
  for (const w of m.warnings) deps.note(`warning: ${w}`);

  let existing: ExistingSetup | undefined;
  if (fs.existsSync(settingsFile)) {
    existing = await inspectExisting(settingsFile, { ...deps, cknfastrc: m.cknfastrc });
    deps.showExisting(existing);
    const action = await chooseExistingAction(d, existing);
    if (action === "keep") return keepExisting("nshield", dir, existing, m.findings);
    if (action === "add") return addNshieldKey(deps, d, m, existing, dir);
  }
  const ev = existing?.values;
  const warnings: string[] = [];

  // Protection, and for OCS the card set and its passphrase.
  if (a.protection === undefined && (a.cardset !== undefined || a["create-ocs"] !== undefined)) a.protection = "ocs";
  const protection = await askChoice(d, "protection", {
    message: "How should the HSM protect the XKS key?",
    choices: [
      { value: "module", name: "module protection", description: "Usable whenever the HSM is up; no card or passphrase at run time (the PKCS#11 PIN is empty)." },
      { value: "ocs", name: "Operator Card Set (OCS)", description: "Needs the card set loaded (persistent or preloaded) and its passphrase, which becomes the PKCS#11 PIN." },
    ],
    default: ev?.protection ?? "module",
  });
  const sets = m.cardsets ?? [];
  let cardset: string | undefined;
  let newOcs: { name: string; k: number; n: number } | undefined;
  if (protection === "ocs") {
    let name = answer(a, "create-ocs");
    if (name === undefined) {
      const given = answer(a, "cardset");
      if (given !== undefined) {
        if (m.cardsets !== null && !sets.some((s) => s.name === given)) {
          throw new XksctlError("XKS_CARD_PROBLEM", `There is no card set named ${JSON.stringify(given)} in this Security World (card sets: ${sets.map((s) => s.name).join(", ") || "none"}).`, {
            remedy: `Pick one of them with --cardset, or create one with --create-ocs ${given} --quorum 1/1.`,
          });
        }
        if (m.cardsets === null) warnings.push(`card sets could not be listed, so ${given} was not checked; generatekey will refuse it if it does not exist`);
        cardset = given;
      } else {
        const fallback = ev?.cardset && sets.some((s) => s.name === ev.cardset) ? ev.cardset : sets.length === 1 ? sets[0]!.name : undefined;
        const picked = await askChoice(d, "cardset", {
          message: "Which Operator Card Set protects the key?",
          choices: [
            ...sets.map((s) => ({ value: s.name, name: s.name, description: `${s.k} of ${s.n} cards, ${s.timeout}, hkltu ${s.hkltu.slice(0, 12)}...` })),
            { value: NEW, name: "create a new card set", description: "Runs createocs on this terminal: insert blank cards and choose their passphrase when it asks." },
          ],
          ...(fallback ? { default: fallback } : {}),
        });
        if (picked === NEW) {
          name = await askText(d, "create-ocs", {
            message: "Name of the new card set",
            default: sets.some((s) => s.name === "xksocs") ? undefined : "xksocs",
            parse: (v) => {
              checkCardSetName(v, "A card set name");
              if (sets.some((s) => s.name === v)) throw new XksctlError("XKS_USAGE", `A card set named ${v} exists already.`);
              return v;
            },
          });
        } else cardset = picked;
      }
    }
    if (name !== undefined) {
      if (sets.some((s) => s.name === name)) throw new XksctlError("XKS_USAGE", `A card set named ${JSON.stringify(name)} exists already; use it with --cardset ${name}.`);
      if (!deps.interactive) {
        throw new XksctlError("XKS_PROMPT_NEEDED", "createocs asks for each card's passphrase on a terminal, and there is none.", {
          remedy: "Run `xksctl init` from an interactive terminal (e.g. `ssh -t`), or create the card set first with `xksctl ocs create` and pass --cardset.",
        });
      }
      const q = await askText(d, "quorum", { message: "Cards needed / cards in the set (K/N)", default: "1/1", parse: parseQuorum });
      newOcs = { name, ...q };
      cardset = name;
    }
  }
  const tokenLabel = tokenLabelFor(protection, cardset, m.loadSharing);

  // The PIN: empty for module protection; the card set's passphrase for OCS, in a 0600 file.
  let pin = "";
  let pinFile: string | undefined;
  let pinToWrite: string | undefined;
  const pinFileAnswer = answer(a, "pin-file");
  if (protection === "module" && pinFileAnswer !== undefined) throw new XksctlError("XKS_USAGE", "--pin-file only applies with --protection ocs (module protection has an empty PIN)");
  if (protection === "ocs") {
    if (pinFileAnswer !== undefined) {
      pinFile = path.resolve(deps.cwd, pinFileAnswer);
      const r = readPinFile(pinFile);
      pin = r.pin;
      if (r.warning) warnings.push(r.warning);
    } else if (!newOcs && ev?.pinFile && ev.cardset === cardset && fs.existsSync(path.resolve(dir, ev.pinFile))) {
      pinFile = path.resolve(dir, ev.pinFile);
      pin = readPinFile(pinFile).pin;
    } else {
      pinFile = path.join(dir, "ocs-pin");
      if (!newOcs) {
        if (!deps.interactive || d.yes) throw new XksctlError("XKS_PROMPT_NEEDED", `The passphrase of card set ${cardset} (the PKCS#11 PIN) is needed, and there is no terminal to type it on.`, { remedy: "Pass --pin-file FILE (a file holding it, mode 0600)." });
        pinToWrite = await d.prompts.password({ message: `Passphrase of card set ${cardset} (becomes the PKCS#11 PIN, kept in ${pinFile}, mode 0600)`, flag: "--pin-file", validate: (v) => (v === "" ? "The passphrase cannot be empty." : true) });
        pin = pinToWrite;
      }
    }
  }

  // The key: a new one (generatekey) or an existing one of the same protection.
  const hkltu = cardset ? sets.find((s) => s.name === cardset)?.hkltu : undefined;
  const candidates = newOcs ? [] : m.keys.filter((k) => (protection === "module" ? k.protection === "module" : k.protection === "cardset" && (hkltu === undefined || k.cardsetHash === hkltu)));
  let keyId: string;
  let createKey: boolean;
  const keyIdAnswer = answer(a, "key-id");
  const useExisting = a["use-existing-key"] === true;
  if (keyIdAnswer !== undefined) {
    const named = m.keys.find((k) => k.name === keyIdAnswer);
    if (useExisting) {
      if (!named) throw new XksctlError("XKS_KEY_NOT_FOUND", `No pkcs11 key named ${JSON.stringify(keyIdAnswer)} in the Security World (nfkminfo -l).`, { remedy: "Leave --use-existing-key out to create it, or pick a listed key (`xksctl keys list`)." });
      if (!candidates.includes(named)) throw new XksctlError("XKS_USAGE", `The key ${keyIdAnswer} is ${named.protection === "module" ? "module" : "card set"}-protected${named.protection === "cardset" && hkltu ? " by another card set" : ""}; it cannot serve a ${protection === "module" ? "module-protected" : `card set ${cardset}`} setup.`);
    } else if (named) {
      throw new XksctlError("XKS_KEY_EXISTS", `A key named ${JSON.stringify(keyIdAnswer)} already exists in the Security World (key_${named.app}_${named.ident}, ${named.protection} protection).`, {
        remedy: `Pass --use-existing-key to use it, or choose another --key-id.`,
      });
    }
    keyId = keyIdAnswer;
    createKey = !useExisting;
  } else {
    const fallbackExisting = ev?.keyIds.find((id) => candidates.some((k) => k.name === id));
    let pick = NEW;
    if (candidates.length > 0 && (useExisting || !d.yes || fallbackExisting)) {
      pick = await askChoice(d, "key-id", {
        message: "Which AES-256 key should KMS use?",
        choices: [
          ...(useExisting ? [] : [{ value: NEW, name: "create a new key", description: "generatekey pkcs11 protect=" + (protection === "module" ? "module" : `token cardset=${cardset}`) + " type=AES size=256" }]),
          ...candidates.map((k) => ({ value: k.name, name: `use ${k.name}`, description: `key_${k.app}_${k.ident} (checked with a round trip before anything is written)` })),
        ],
        default: fallbackExisting ?? (useExisting && candidates.length === 1 ? candidates[0]!.name : NEW),
      });
    } else if (useExisting) {
      throw new XksctlError("XKS_KEY_NOT_FOUND", `No ${protection === "module" ? "module-protected" : `card set ${cardset}`} pkcs11 key to use in this Security World.`, { remedy: "Leave --use-existing-key out to create one." });
    }
    if (pick === NEW) {
      keyId = await askText(d, "key-id", {
        message: "Key id (the key's name in the HSM, its CKA_LABEL, and the XKS key id in KMS)",
        default: freeKeyId(m.keys),
        parse: (v) => {
          assertKeyId(v);
          if (m.keys.some((k) => k.name === v)) throw new XksctlError("XKS_KEY_EXISTS", `A key named ${JSON.stringify(v)} exists already; pick it from the list or choose another id.`);
          return v;
        },
      });
      createKey = true;
    } else {
      keyId = pick;
      createKey = false;
    }
  }
  if (createKey && m.status.world.cardNeededForKeyGeneration) {
    warnings.push(`world mode ${m.status.world.mode}: generatekey asks for an Administrator or Operator Card to authorise the key${deps.interactive ? "" : ", and there is no terminal to answer it"}`);
  }

  // The key store and the endpoint.
  const prefix = await askText(d, "prefix", { message: 'URI path prefix of the key store ("none" for none)', default: ev?.prefix ?? "/nshield/xks", parse: parsePrefixAnswer });
  const endpointDefault = ev?.endpoint ?? hostDefault();
  const endpoint = await askText(d, "endpoint", { message: "DNS name KMS connects to (https://NAME, port 443; no IP address)", ...(endpointDefault ? { default: endpointDefault } : {}), parse: parseEndpoint });
  const port = await askText(d, "port", { message: "Port the proxy listens on (KMS uses 443; another port needs a load balancer or NAT in front)", default: String(ev?.port ?? 443), parse: (v) => parsePort(v, "--port") });
  const region = await askText(d, "region", { message: "AWS region of the KMS key store", default: ev?.region ?? "us-east-1", parse: (v) => parseRegion(v.trim(), "--region") });
  const ip = answer(a, "ip") ?? ev?.ip ?? "0.0.0.0";
  const pingPort = answer(a, "ping-port") !== undefined ? parsePort(answer(a, "ping-port")!, "--ping-port") : (ev?.pingPort ?? 80);

  // TLS.
  const tlsDir = path.join(dir, "tls");
  const existingTlsWorks = existing !== undefined && ev?.tlsCert !== undefined && !existing.broken.some((b) => b.startsWith("TLS:")) && existing.pending.length === 0;
  const tlsMode = a["tls-cert"] !== undefined ? "existing" : await askChoice(d, "tls", {
    message: "TLS certificate for the endpoint",
    choices: [
      { value: "csr", name: "new private key and CSR", description: `A new key (0600) and a certificate request for ${endpoint}, to send to a public CA (KMS trusts only public CAs).` },
      { value: "existing", name: "existing chain and key", description: "PEM files you have: checked for the key, the order, the dates and the name before use." },
      { value: "self-signed", name: "self-signed (tests only)", description: "KMS refuses it; for curl tests on this machine." },
    ],
    default: existingTlsWorks ? "existing" : "csr",
  });
  let tls: TlsChoice;
  if (tlsMode === "existing") {
    tls = await askExistingTls(d, deps, endpoint, { ...(ev?.tlsCert ? { cert: ev.tlsCert } : {}), ...(ev?.tlsKey ? { key: ev.tlsKey } : {}) });
    warnings.push(...tls.warnings);
  } else if (tlsMode === "csr") {
    const keyFile = path.join(tlsDir, "xks-proxy.key");
    tls = { mode: "csr", certFile: path.join(tlsDir, "xks-proxy-chain.pem"), keyFile, csrFile: csrPathFor(keyFile), warnings: [] };
  } else {
    tls = { mode: "self-signed", certFile: path.join(tlsDir, "cert.pem"), keyFile: path.join(tlsDir, "key.pem"), warnings: [] };
    warnings.push("a self-signed certificate: AWS KMS will not connect; use it for local tests only");
  }

  // The service.
  const systemdDir = path.resolve(deps.cwd, answer(a, "systemd-dir") ?? SYSTEMD_DIR);
  const installService = await askYesNo(d, "install-service", { message: `Install the systemd unit into ${systemdDir}?`, default: false });

  // The credential: kept when changing a setup that has a valid one, else new.
  const keepCred = existing !== undefined && ev?.accessKeyId !== undefined && ev.secretAccessKey !== undefined && existing.settings !== undefined;
  const cred = keepCred ? { accessKeyId: ev!.accessKeyId!, secretAccessKey: ev!.secretAccessKey! } : newCredential(deps.randomBytes);

  // The cknfastrc change.
  const rcPlan = initCknfastPlan(protection, m.loadSharing);
  const rc = applyCknfastPlan(m.cknfastrc.text, rcPlan, `set by xksctl init (${protection} protection${m.loadSharing ? ", load sharing" : ""})`);
  const wanted = { ...rcPlan.set, ...Object.fromEntries(rc.changes.map((c) => [c.name, c.to])) };
  for (const o of cknfastEnvOverrides(wanted, deps.env)) warnings.push(`${o.name}=${o.envValue} in the environment overrides cknfastrc's ${o.name}=${o.wanted} for programs started from it`);

  const values: InitSettings = {
    ip,
    port,
    pingPort,
    region,
    tlsCert: tls.certFile,
    tlsKey: tls.keyFile,
    prefix,
    accessKeyId: cred.accessKeyId,
    secretAccessKey: cred.secretAccessKey,
    keyIds: [...new Set([keyId, ...(ev?.protection === protection && ev.cardset === cardset ? ev.keyIds.filter((k) => k !== keyId && m.keys.some((n) => n.name === k)) : [])])],
    pin: "",
    ...(pinFile ? { pinFile } : {}),
    pkcs11Module: m.pkcs11Module,
    tokenLabel,
    hsmIv: true,
  };
  const dropped = ev ? ev.keyIds.filter((k) => !values.keyIds.includes(k)) : [];
  for (const k of dropped) warnings.push(`${k} is dropped from the key store: ${m.keys.some((n) => n.name === k) ? `it is not a ${protection === "module" ? "module-protected" : `card set ${cardset}`} key` : "the HSM has no key of that name"}`);
  const settingsText = renderInitSettings(values);
  const unitFile = path.join(dir, "xksctl.service");
  const unitText = renderService({ settingsFile, node: process.execPath, cli: packagePath("bin", "xksctl.cjs"), nfastHome: m.nfastHome, pkcs11Module: m.pkcs11Module, readme: packagePath("README.md") });
  let made: KeyAndCsr | undefined;
  let selfSigned: { cert: string; key: string } | undefined;

  const files: PlannedFile[] = [];
  if (pinFile && (pinToWrite !== undefined || newOcs) && pinFileAnswer === undefined) files.push(plannedFile(pinFile, `the passphrase of card set ${cardset} (the PKCS#11 PIN)`, () => `${pin}\n`, { secret: true }));
  if (tls.mode === "csr") {
    files.push(plannedFile(tls.keyFile, "the TLS private key (new, EC P-256)", () => made!.keyPem, { secret: true }));
    files.push(plannedFile(tls.csrFile!, `the certificate request for ${endpoint}, to send to a public CA`, () => made!.csrPem));
  } else if (tls.mode === "self-signed") {
    files.push(plannedFile(tls.keyFile, "the TLS private key (self-signed pair)", () => selfSigned!.key, { secret: true }));
    files.push(plannedFile(tls.certFile, `a self-signed certificate for ${endpoint} (tests only)`, () => selfSigned!.cert));
  }
  files.push(plannedFile(settingsFile, `the proxy settings (key ${keyId}, ${protection === "ocs" ? `card set ${cardset}` : "module protection"}, token "${tokenLabel}")`, () => settingsText, { secret: true }));
  const consoleJson = path.join(dir, "kms-proxy-config.json");
  files.push(plannedFile(consoleJson, "the proxy configuration file for the KMS console (holds the SigV4 secret)", () => consoleConfigText(uriPathOf(prefix), cred), { secret: true }));
  if (rc.changes.length > 0) files.push(plannedEdit(m.cknfastrc.file, `nShield PKCS#11 library settings: ${rc.changes.map((c) => `${c.name}=${c.to}`).join(", ")}`, m.cknfastrc.text, rc.text));
  files.push(plannedFile(unitFile, "the systemd unit (user xksctl, group nfast, reload by SIGHUP)", () => unitText));
  const installedUnit = path.join(systemdDir, "xksctl.service");
  if (installService) files.push(plannedFile(installedUnit, "the systemd unit, installed", () => unitText));

  const actions = [
    ...(newOcs ? [`create the Operator Card Set ${newOcs.name} (${newOcs.k}/${newOcs.n}) with createocs on this terminal`] : []),
    ...(createKey ? [`generate the AES-256 key ${keyId}: generatekey pkcs11 protect=${protection === "module" ? "module" : `token cardset=${cardset}`} plainname=${keyId}`] : [`use the existing key ${keyId}`]),
    `check ${keyId} with an AES-GCM encrypt/decrypt round trip in the HSM (token "${tokenLabel}") before writing any file`,
    ...(tls.mode === "csr" ? [`make a new TLS key and CSR for ${endpoint} (openssl)`] : []),
  ];
  const plan: InitPlan = {
    backend: "nshield",
    dir,
    actions,
    files,
    notes: [
      ...(keepCred ? [`the SigV4 credential ${cred.accessKeyId} is kept (rotate with \`xksctl creds rotate\`)`] : ["a new SigV4 credential (shown once at the end; also in settings.toml and kms-proxy-config.json)"]),
      ...warnings,
    ],
  };
  if (!(await confirmPlan(deps, d, plan))) return declined("nshield", dir, settingsFile, m.findings);

  // From here on: the HSM steps, then the files.
  const done: string[] = [];
  if (newOcs) {
    const ocs = newOcs;
    await createCardSet(deps.exec, { name: ocs.name, k: ocs.k, n: ocs.n, module: 1 }, () =>
      deps.note(`Running createocs for card set ${ocs.name} (${ocs.k}/${ocs.n}); follow its prompts. xksctl does not see or log what you type.`),
    );
    done.push(`created the Operator Card Set ${ocs.name} (${ocs.k}/${ocs.n})`);
    if (pinFileAnswer === undefined) {
      try {
        pin = await askSecretTwice(d, "--pin-file", {
          message: `Type the passphrase of card set ${ocs.name} once more (it becomes the PKCS#11 PIN, kept in ${pinFile}, mode 0600)`,
          again: "And again, to be sure",
          validate: (v) => (v === "" ? "The passphrase cannot be empty." : true),
        });
      } catch (err) {
        if (!isXksctlError(err)) throw err;
        throw new XksctlError(err.code, err.message, { remedy: err.remedy, details: [...err.details, `The card set ${ocs.name} was created; no file was written. Run init again and pick it (--cardset ${ocs.name}).`], cause: err });
      }
    }
  }
  let keyFileMade: string | undefined;
  if (createKey) {
    if (m.status.world.cardNeededForKeyGeneration) deps.note("generatekey will ask for an Administrator or Operator Card to authorise the key.");
    const k = await generateXksKey(deps.exec, { keyId, protection, ...(cardset ? { cardset, slot: 0 } : {}), interactive: deps.interactive });
    keyFileMade = k.keyFile;
    done.push(`generated the AES-256 key ${keyId} (${k.keyFile})`);
  }
  if (tls.mode === "csr") made = await newKeyAndCsr(deps.exec, endpoint);
  if (tls.mode === "self-signed") selfSigned = await selfSignedPair(deps.exec, [endpoint], []);

  const pending = new Map<string, string>(pinFile ? [[pinFile, `${pin}\n`]] : []);
  const settings = settingsFromText(settingsText, settingsFile, deps.env, pending);
  // The library reads cknfastrc once; the environment overrides it: test with the new lines.
  for (const [k, v] of Object.entries(wanted)) if (deps.env[k] === undefined) process.env[k] = deps.env[k] = v;
  try {
    await roundTripWith(deps, settings, keyId);
  } catch (err) {
    if (keyFileMade && isXksctlError(err)) {
      throw new XksctlError(err.code, `${err.message} (nothing was written)`, {
        remedy: err.remedy,
        details: [...err.details, `The key ${keyId} was generated (${keyFileMade}); once this is fixed, run init again with --key-id ${keyId} --use-existing-key.`],
        cause: err,
      });
    }
    throw err;
  }
  done.push(`checked ${keyId}: AES-GCM round trip in the HSM`);
  const written = writePlannedFiles(files);

  const next: string[] = [];
  if (tls.mode === "csr") next.push(`Send ${tls.csrFile} to a public CA (AWS KMS trusts public roots only); when the chain comes back: xksctl tls install CHAIN.pem --config ${settingsFile}`);
  next.push(`If the user does not exist yet: useradd --system --gid nfast --home-dir /nonexistent --shell /usr/sbin/nologin xksctl; then chown -R xksctl:nfast ${dir}`);
  if (installService) next.push("systemctl daemon-reload", "systemctl enable --now xksctl");
  else next.push(`install -m 0644 ${unitFile} ${installedUnit} && systemctl daemon-reload && systemctl enable --now xksctl`);
  next.push(`In the KMS console, upload ${consoleJson} as the proxy configuration file, or run the printed xksctl aws command (it prints the AWS CLI steps).`);
  return {
    backend: "nshield",
    outcome: "written",
    dir,
    settingsFile,
    findings: m.findings,
    actions: done,
    files: written,
    keyIds: values.keyIds,
    protection,
    ...(cardset ? { cardset } : {}),
    tokenLabel,
    credential: { accessKeyId: cred.accessKeyId, ...(keepCred ? {} : { secretAccessKey: cred.secretAccessKey }), kept: keepCred },
    tls: { mode: tls.mode, certFile: tls.certFile, keyFile: tls.keyFile, ...(tls.csrFile ? { csrFile: tls.csrFile } : {}), endpoint },
    consoleJson,
    service: { unitFile, ...(installService ? { installedAt: installedUnit } : {}) },
    awsCommand: `xksctl aws --config ${settingsFile} --endpoint https://${endpoint} --key-admin-arn arn:aws:iam::ACCOUNT-ID:role/KeyAdmin`,
    next,
    warnings,
  };
}


/** "add a key" to a configured folder: create one (the `keys create` verb) or list an existing one. */
async function addNshieldKey(deps: InitDeps, d: Dialog, m: NshieldMachine, e: ExistingSetup, dir: string): Promise<InitResult> {
  if (!e.settings) throw new XksctlError("XKS_SETUP_EXISTS", `${e.settingsFile} is not valid, so no key can be added to it.`, { details: e.broken });
  const protection = e.values.protection ?? "module";
  const cardset = e.values.cardset;
  const hkltu = cardset ? m.cardsets?.find((s) => s.name === cardset)?.hkltu : undefined;
  const listed = new Set(e.values.keyIds);
  const candidates = m.keys.filter((k) => !listed.has(k.name) && (protection === "module" ? k.protection === "module" : k.protection === "cardset" && (hkltu === undefined || k.cardsetHash === hkltu)));
  const keyIdAnswer = answer(d.answers, "key-id");
  let keyId: string;
  let create: boolean;
  if (keyIdAnswer !== undefined) {
    const named = m.keys.find((k) => k.name === keyIdAnswer);
    create = d.answers["use-existing-key"] !== true;
    if (create && named) throw new XksctlError("XKS_KEY_EXISTS", `A key named ${JSON.stringify(keyIdAnswer)} already exists in the Security World.`, { remedy: "Pass --use-existing-key to add it, or choose another --key-id." });
    if (!create && !candidates.some((k) => k.name === keyIdAnswer)) throw new XksctlError("XKS_KEY_NOT_FOUND", `No unlisted ${protection === "module" ? "module-protected" : `card set ${cardset}`} key named ${JSON.stringify(keyIdAnswer)}.`);
    keyId = keyIdAnswer;
  } else {
    const pick = await askChoice(d, "key-id", {
      message: "Which key should be added?",
      choices: [{ value: NEW, name: "create a new key", description: "generatekey pkcs11, AES-256" }, ...candidates.map((k) => ({ value: k.name, name: `use ${k.name}`, description: `key_${k.app}_${k.ident}` }))],
      default: NEW,
    });
    create = pick === NEW;
    keyId = create
      ? await askText(d, "key-id", {
          message: "Key id of the new key",
          default: freeKeyId(m.keys),
          parse: (v) => {
            assertKeyId(v);
            if (m.keys.some((k) => k.name === v)) throw new XksctlError("XKS_KEY_EXISTS", `A key named ${JSON.stringify(v)} exists already.`);
            return v;
          },
        })
      : pick;
  }
  const plan: InitPlan = {
    backend: "nshield",
    dir,
    actions: [create ? `generate the AES-256 key ${keyId} (generatekey pkcs11, ${protection === "module" ? "module" : `card set ${cardset}`})` : `check ${keyId} with a round trip in the HSM`],
    files: [{ path: e.settingsFile, what: `add ${keyId} to xks_key_id_set`, action: "update", secret: true, mode: 0o600, content: () => "" }],
    notes: [],
  };
  if (!(await confirmPlan(deps, d, plan))) return declined("nshield", dir, e.settingsFile, m.findings);
  const r = create
    ? await addNewKey(deps.exec, { keyId, protection, ...(cardset ? { cardset } : {}), interactive: deps.interactive, settingsFile: e.settingsFile, env: deps.env })
    : await addExistingKey(deps, e.settings, keyId);
  return {
    backend: "nshield",
    outcome: "added",
    dir,
    settingsFile: e.settingsFile,
    findings: m.findings,
    actions: r.actions,
    files: r.files,
    keyIds: [...e.values.keyIds, keyId],
    protection,
    ...(cardset ? { cardset } : {}),
    next: [r.pickup, `xksctl aws --config ${e.settingsFile} --endpoint https://${e.values.endpoint ?? "NAME"} --key-admin-arn arn:aws:iam::ACCOUNT-ID:role/KeyAdmin  (prints the create-key command for ${keyId})`],
    warnings: [],
  };
}
