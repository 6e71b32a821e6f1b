/**
 * The answers of `xksctl init`: from the command line and from `--answers FILE.json`, whose keys
 * are the flags' names without the dashes (`{"key-id": "xks-key-1", "port": 443, "yes": true}`).
 * A flag on the command line wins over the file. Every given value is checked up front, so a
 * typo fails before any question is asked or anything is changed.
 */
import fs from "node:fs";
import { isIP } from "node:net";
import path from "node:path";
import { XksctlError } from "../../errors.js";
import { checkCardSetName, parseQuorum } from "../../hsm/nfast/createocs.js";
import { assertKeyId, parsePort, parseRegion, parseUriPrefix } from "../../rules.js";

/** Every answer init knows, by flag name, with its kind. */
export const ANSWER_KEYS = {
  backend: "string",
  dir: "string",
  yes: "boolean",
  force: "boolean",
  existing: "string",
  protection: "string",
  cardset: "string",
  "create-ocs": "string",
  quorum: "string",
  "pin-file": "string",
  "key-id": "string",
  "use-existing-key": "boolean",
  prefix: "string",
  endpoint: "string",
  ip: "string",
  port: "string",
  "ping-port": "string",
  region: "string",
  tls: "string",
  "tls-cert": "string",
  "tls-key": "string",
  "install-service": "boolean",
  "systemd-dir": "string",
  "token-label": "string",
} as const;

/** An answer's name (a flag without its dashes). */
export type AnswerKey = keyof typeof ANSWER_KEYS;

/** Given answers; absent keys were not answered. */
export type Answers = Partial<Record<AnswerKey, string | boolean>>;

const ONE_OF: Partial<Record<AnswerKey, readonly string[]>> = {
  backend: ["nshield", "softhsm"],
  existing: ["keep", "change", "add"],
  protection: ["module", "ocs"],
  tls: ["csr", "existing", "self-signed"],
};

/** Checks one answer's value (independent of the backend); throws XKS_USAGE / XKS_KEY_INVALID_ID. */
function checkAnswer(key: AnswerKey, value: string | boolean): void {
  const flag = `--${key}`;
  if (ANSWER_KEYS[key] === "boolean") {
    if (typeof value !== "boolean") throw new XksctlError("XKS_USAGE", `${flag} is a switch: give true or false, got ${JSON.stringify(value)}`);
    return;
  }
  if (typeof value !== "string") throw new XksctlError("XKS_USAGE", `${flag} needs a value, got ${JSON.stringify(value)}`);
  const choices = ONE_OF[key];
  if (choices && !choices.includes(value)) throw new XksctlError("XKS_USAGE", `${flag} must be one of ${choices.join(", ")}, got ${JSON.stringify(value)}`);
  switch (key) {
    case "cardset":
    case "create-ocs":
      checkCardSetName(value, flag);
      return;
    case "quorum":
      parseQuorum(value);
      return;
    case "key-id":
      assertKeyId(value);
      return;
    case "prefix":
      parseUriPrefix(value, flag);
      return;
    case "ip":
      if (isIP(value) === 0) throw new XksctlError("XKS_USAGE", `${flag} must be an IP address to listen on (e.g. 0.0.0.0), got ${JSON.stringify(value)}`);
      return;
    case "port":
    case "ping-port":
      parsePort(value, flag);
      return;
    case "region":
      parseRegion(value, flag);
      return;
    case "dir":
    case "pin-file":
    case "tls-cert":
    case "tls-key":
    case "systemd-dir":
    case "token-label":
      if (value.trim() === "") throw new XksctlError("XKS_USAGE", `${flag} needs a value`);
      if (key === "token-label" && value.length > 32) throw new XksctlError("XKS_USAGE", `${flag} must be at most 32 characters (a PKCS#11 token label)`);
      return;
    default:
      return;
  }
}

/** Reads `--answers FILE`: a JSON object whose keys are init's flag names. Throws XKS_USAGE. */
export function readAnswersFile(file: string, cwd: string): Answers {
  const full = path.resolve(cwd, file);
  let text: string;
  try {
    text = fs.readFileSync(full, "utf8");
  } catch (err) {
    throw new XksctlError("XKS_FILE_READ", `Cannot read the answers file ${full} (${(err as NodeJS.ErrnoException).code ?? "error"}).`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new XksctlError("XKS_USAGE", `${full} is not JSON: ${(err as Error).message}`, { remedy: 'Write one object whose keys are init\'s flag names, e.g. {"protection": "module", "key-id": "xks-key-1"}.' });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new XksctlError("XKS_USAGE", `${full} must hold one JSON object of answers`);
  const out: Answers = {};
  for (const [rawKey, value] of Object.entries(doc as Record<string, unknown>)) {
    const key = rawKey.replace(/^--/, "");
    if (!(key in ANSWER_KEYS)) {
      throw new XksctlError("XKS_USAGE", `${full}: unknown answer ${JSON.stringify(rawKey)}`, { remedy: `Use init's flag names: ${Object.keys(ANSWER_KEYS).join(", ")}.` });
    }
    const k = key as AnswerKey;
    const v = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
    if (typeof v !== "string" && typeof v !== "boolean") throw new XksctlError("XKS_USAGE", `${full}: answer ${JSON.stringify(rawKey)} must be a string, number or boolean`);
    checkAnswer(k, v);
    out[k] = v;
  }
  return out;
}

/** The command line's answers over the file's; every value checked. */
export function mergeAnswers(fromFile: Answers, fromFlags: Answers): Answers {
  const out: Answers = { ...fromFile };
  for (const [k, v] of Object.entries(fromFlags) as [AnswerKey, string | boolean | undefined][]) {
    if (v === undefined) continue;
    checkAnswer(k, v);
    out[k] = v;
  }
  if (out["create-ocs"] !== undefined && out.cardset !== undefined) throw new XksctlError("XKS_USAGE", "--cardset (an existing card set) and --create-ocs (a new one) exclude each other");
  if (out["create-ocs"] !== undefined && out.protection === "module") throw new XksctlError("XKS_USAGE", "--create-ocs makes an Operator Card Set: it needs --protection ocs");
  if (out.cardset !== undefined && out.protection === "module") throw new XksctlError("XKS_USAGE", "--cardset only applies with --protection ocs");
  if ((out["tls-cert"] === undefined) !== (out["tls-key"] === undefined)) throw new XksctlError("XKS_USAGE", "--tls-cert and --tls-key go together (the chain and its private key)");
  if (out["tls-cert"] !== undefined && out.tls !== undefined && out.tls !== "existing") throw new XksctlError("XKS_USAGE", `--tls ${String(out.tls)} and --tls-cert exclude each other`);
  return out;
}
