/**
 * Turns a parsed settings TOML into validated Settings, or a list of problems, each naming
 * the key path, what was expected and what was found. Secrets are never echoed.
 */
import { isIP } from "node:net";
import { ACCESS_KEY_ID_RE, ACCESS_KEY_ID_RULE, KEY_ID_RULE, PLACEHOLDER_ACCESS_KEY_ID, SECRET_RE, SECRET_RULE, URI_PREFIX_RULE, isValidUriPrefix, keyIdProblem } from "../rules.js";
import { resolveSettingsPath } from "./paths.js";
import { SCHEMA, type FieldSpec, type TableSpec } from "./schema.js";
import type { AllowRule, Credential, KeyStoreSettings, Settings } from "./types.js";

/** The fields an [[external_key_stores.allow]] rule may name. */
const ALLOW_FIELDS = ["principal", "operations", "kms_key_arn", "source_vpc", "source_vpce", "via_service"] as const;

/** One thing wrong with the file. */
export interface Problem {
  path: string;
  expected: string;
  got: string;
}

/** What validation found. `settings` is set only when there are no problems. */
export interface ValidationResult {
  settings?: Settings;
  problems: Problem[];
  warnings: string[];
}

/** Side effects validation needs: environment and file reads for secret sources. */
export interface ValidateDeps {
  env: NodeJS.ProcessEnv;
  readSecretFile(file: string): string;
}

/** The sample secret shipped in the reference proxy's files (its access key id: PLACEHOLDER_ACCESS_KEY_ID). */
const PLACEHOLDER_SECRET = "PleaseReplaceThisWithSomeSecretOfLength43To64";

type Raw = Record<string, unknown>;

/** Describes a found value for a message; secrets show only their length. */
export function describe(value: unknown, secret = false): string {
  if (value === undefined) return "nothing (key absent)";
  if (typeof value === "string") {
    if (value === "") return '"" (empty string)';
    if (secret) return `a ${value.length}-character value (hidden)`;
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `${JSON.stringify(shown)} (string, ${value.length} characters)`;
  }
  if (typeof value === "number") return `${value} (${Number.isInteger(value) ? "integer" : "float"})`;
  if (typeof value === "boolean") return `${value} (boolean)`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof Date) return "a date";
  return "a table";
}

function isTable(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function get(root: Raw, dotted: string): unknown {
  let cur: unknown = root;
  for (const part of dotted.split(".")) {
    if (!isTable(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function expectedOf(f: FieldSpec): string {
  const t = f.type;
  switch (t.kind) {
    case "bool":
      return "true or false";
    case "int":
      return `an integer ${t.min}-${t.max}`;
    case "stringArray":
      return "an array of strings";
    case "credentialArray":
      return "an array of tables { sigv4_access_key_id, sigv4_secret_access_key }";
    case "allowArray":
      return `an array of tables naming some of ${ALLOW_FIELDS.join(", ")}`;
    case "string":
      if (t.oneOf) return `one of ${t.oneOf.map((o) => JSON.stringify(o)).join(", ")}`;
      return t.expected ?? (t.nonEmpty ? "a non-empty string" : "a string");
  }
}

/** Checks one value against its field type; returns the normalised value or a problem. */
function checkField(f: FieldSpec, value: unknown, at: string, problems: Problem[]): unknown {
  const bad = () => {
    problems.push({ path: at, expected: expectedOf(f), got: describe(value, f.secret) });
    return undefined;
  };
  const t = f.type;
  switch (t.kind) {
    case "bool":
      return typeof value === "boolean" ? value : bad();
    case "int":
      return typeof value === "number" && Number.isInteger(value) && value >= t.min && value <= t.max ? value : bad();
    case "stringArray":
      return Array.isArray(value) && value.every((v) => typeof v === "string") ? [...value] : bad();
    case "credentialArray":
      return Array.isArray(value) && value.every(isTable) ? value : bad();
    case "allowArray":
      return Array.isArray(value) && value.every(isTable) ? value : bad();
    case "string": {
      if (typeof value !== "string") return bad();
      if (t.nonEmpty && value === "") return bad();
      if (t.oneOf) {
        const hit = t.oneOf.find((o) => (t.ignoreCase ? o.toUpperCase() === value.toUpperCase() : o === value));
        return hit ?? bad();
      }
      return value;
    }
  }
}

/** Validates one table's known keys; warns on unknown ones. */
function checkTable(spec: TableSpec, raw: Raw, at: string, problems: Problem[], warnings: string[]): Raw {
  const out: Raw = {};
  const known = new Set(spec.fields.map((f) => f.name));
  const subTables = new Set(SCHEMA.filter((s) => s.path.startsWith(`${spec.path}.`)).map((s) => s.path.slice(spec.path.length + 1)));
  for (const f of spec.fields) {
    const keyPath = `${at}.${f.name}`;
    const value = raw[f.name];
    if (value === undefined) {
      if (f.required) problems.push({ path: keyPath, expected: expectedOf(f), got: describe(undefined) });
      else if (f.default !== undefined) out[f.name] = f.default;
      continue;
    }
    const checked = checkField(f, value, keyPath, problems);
    if (checked !== undefined) out[f.name] = checked;
  }
  for (const key of Object.keys(raw)) {
    if (!known.has(key) && !subTables.has(key)) warnings.push(`${at}.${key}: unknown key, ignored (check the spelling)`);
  }
  return out;
}

/** Reads a secret from the TOML value, a file or an environment variable (extensions). */
function resolveSecret(
  raw: Raw,
  key: string,
  at: string,
  deps: ValidateDeps,
  settingsFile: string,
  problems: Problem[],
): string | undefined {
  const inline = raw[key];
  const file = raw[`${key}_file`];
  const envName = raw[`${key}_env`];
  const sources = [inline, file, envName].filter((v) => typeof v === "string" && v !== "").length;
  if (sources > 1) {
    problems.push({ path: `${at}.${key}`, expected: `one source: ${key}, ${key}_file or ${key}_env`, got: `${sources} sources` });
    return undefined;
  }
  if (typeof file === "string" && file !== "") {
    const where = resolveSettingsPath(file, settingsFile, deps.env);
    if (!where.ok) {
      problems.push({ path: `${at}.${key}_file`, expected: "a readable file holding the secret", got: `${JSON.stringify(file)} (${where.reason})` });
      return undefined;
    }
    try {
      return deps.readSecretFile(where.path).replace(/\r?\n$/, "");
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? "unreadable";
      problems.push({ path: `${at}.${key}_file`, expected: "a readable file holding the secret", got: `${JSON.stringify(file)} (${reason})` });
      return undefined;
    }
  }
  if (typeof envName === "string" && envName !== "") {
    const v = deps.env[envName];
    if (v === undefined || v === "") {
      problems.push({ path: `${at}.${key}_env`, expected: `environment variable ${envName} to be set`, got: "it is unset or empty" });
      return undefined;
    }
    return v;
  }
  return typeof inline === "string" ? inline : undefined;
}

/** Checks one credential pair by KMS's formats. */
function checkCredential(
  raw: Raw,
  at: string,
  deps: ValidateDeps,
  settingsFile: string,
  problems: Problem[],
  warnings: string[],
): Credential | undefined {
  const id = raw.sigv4_access_key_id;
  let ok = true;
  if (typeof id !== "string" || !ACCESS_KEY_ID_RE.test(id)) {
    problems.push({ path: `${at}.sigv4_access_key_id`, expected: ACCESS_KEY_ID_RULE, got: describe(id) });
    ok = false;
  } else if (id === PLACEHOLDER_ACCESS_KEY_ID) {
    warnings.push(`${at}.sigv4_access_key_id: the reference sample's placeholder; run \`xksctl creds generate\` before production use`);
  }
  const before = problems.length;
  const secret = resolveSecret(raw, "sigv4_secret_access_key", at, deps, settingsFile, problems);
  if (secret === undefined || !SECRET_RE.test(secret)) {
    if (problems.length === before) {
      problems.push({
        path: `${at}.sigv4_secret_access_key`,
        expected: SECRET_RULE,
        got: describe(secret, true),
      });
    }
    ok = false;
  } else if (secret === PLACEHOLDER_SECRET) {
    warnings.push(`${at}.sigv4_secret_access_key: the reference sample's placeholder; run \`xksctl creds generate\` before production use`);
  }
  return ok ? { accessKeyId: id as string, secretAccessKey: secret as string } : undefined;
}

/** Validates the key stores: prefixes, credentials, key ids, uniqueness. */
function checkKeyStores(
  rawStores: unknown,
  deps: ValidateDeps,
  settingsFile: string,
  problems: Problem[],
  warnings: string[],
): KeyStoreSettings[] {
  const spec = SCHEMA.find((s) => s.path === "external_key_stores")!;
  if (!Array.isArray(rawStores) || rawStores.length === 0 || !rawStores.every(isTable)) {
    problems.push({ path: "external_key_stores", expected: "at least one [[external_key_stores]] table", got: describe(rawStores) });
    return [];
  }
  const stores: KeyStoreSettings[] = [];
  const prefixes = new Map<string, number>();
  rawStores.forEach((raw, i) => {
    const at = `external_key_stores[${i}]`;
    const t = checkTable(spec, raw, at, problems, warnings);
    const prefix = t.uri_path_prefix;
    if (typeof prefix === "string") {
      if (!isValidUriPrefix(prefix)) problems.push({ path: `${at}.uri_path_prefix`, expected: URI_PREFIX_RULE, got: describe(prefix) });
      const seen = prefixes.get(prefix);
      if (seen !== undefined) {
        problems.push({ path: `${at}.uri_path_prefix`, expected: `a prefix unique among key stores`, got: `${JSON.stringify(prefix)}, also used by external_key_stores[${seen}]` });
      } else prefixes.set(prefix, i);
    }
    const keyIds = (t.xks_key_id_set as string[] | undefined) ?? [];
    keyIds.forEach((k, j) => {
      if (keyIdProblem(k) !== null) problems.push({ path: `${at}.xks_key_id_set[${j}]`, expected: KEY_ID_RULE, got: describe(k) });
    });
    for (const d of (t.disabled_xks_key_ids as string[] | undefined) ?? []) {
      if (!keyIds.includes(d)) warnings.push(`${at}.disabled_xks_key_ids: ${JSON.stringify(d)} is not in xks_key_id_set`);
    }
    const credentials: Credential[] = [];
    const main = checkCredential(raw, at, deps, settingsFile, problems, warnings);
    if (main) credentials.push(main);
    const extra = (t.sigv4_additional_credentials as Raw[] | undefined) ?? [];
    extra.forEach((c, j) => {
      const cred = checkCredential(c, `${at}.sigv4_additional_credentials[${j}]`, deps, settingsFile, problems, warnings);
      if (cred) credentials.push(cred);
    });
    const ids = new Set<string>();
    for (const c of credentials) {
      if (ids.has(c.accessKeyId)) problems.push({ path: `${at}.sigv4_additional_credentials`, expected: "distinct access key ids", got: `${c.accessKeyId} twice` });
      ids.add(c.accessKeyId);
    }
    stores.push({
      uri_path_prefix: typeof prefix === "string" ? prefix : "",
      sigv4_access_key_id: typeof raw.sigv4_access_key_id === "string" ? raw.sigv4_access_key_id : "",
      credentials,
      xks_key_id_set: keyIds,
      disabled_xks_key_ids: (t.disabled_xks_key_ids as string[] | undefined) ?? [],
      allow: checkAllowRules((t.allow as Raw[] | undefined) ?? [], `${at}.allow`, problems),
    });
  });
  return stores;
}

/** The secondary authorization rules of one store: known fields, non-empty strings, at least one field. */
function checkAllowRules(raw: Raw[], at: string, problems: Problem[]): AllowRule[] {
  return raw.map((r, i) => {
    const here = `${at}[${i}]`;
    const rule: AllowRule = {};
    for (const key of Object.keys(r)) {
      if (!(ALLOW_FIELDS as readonly string[]).includes(key)) problems.push({ path: `${here}.${key}`, expected: `one of ${ALLOW_FIELDS.join(", ")}`, got: JSON.stringify(key) });
    }
    for (const key of ALLOW_FIELDS) {
      const v = r[key];
      if (v === undefined) continue;
      if (key === "operations") {
        if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string" && x !== "")) rule.operations = [...(v as string[])];
        else problems.push({ path: `${here}.operations`, expected: 'a non-empty array of kmsOperation names ("Encrypt", "GenerateDataKey*")', got: describe(v) });
      } else if (typeof v === "string" && v !== "") rule[key] = v;
      else problems.push({ path: `${here}.${key}`, expected: "a non-empty string (* matches any run of characters)", got: describe(v) });
    }
    if (ALLOW_FIELDS.every((k) => r[k] === undefined)) problems.push({ path: here, expected: `a rule naming at least one of ${ALLOW_FIELDS.join(", ")}`, got: "an empty rule (it would allow everything)" });
    return rule;
  });
}

/** Validates a parsed settings document. `file` is its absolute path (for relative secret files). */
export function validateSettings(doc: Raw, file: string, deps: ValidateDeps): ValidationResult {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  // Relative *_file paths resolve against the settings file's folder (src/config/paths.ts).
  const settingsFile = file;
  const out: Raw = {};
  const topKnown = new Set(SCHEMA.map((s) => s.path.split(".")[0]!));
  for (const key of Object.keys(doc)) if (!topKnown.has(key)) warnings.push(`${key}: unknown table or key, ignored (check the spelling)`);

  for (const spec of SCHEMA) {
    if (spec.array) continue;
    const raw = get(doc, spec.path);
    if (raw === undefined) {
      if (spec.required) problems.push({ path: `[${spec.path}]`, expected: "a table", got: "nothing (table absent)" });
      continue;
    }
    if (!isTable(raw)) {
      problems.push({ path: `[${spec.path}]`, expected: "a table", got: describe(raw) });
      continue;
    }
    const t = checkTable(spec, raw, `[${spec.path}]`, problems, warnings);
    const [top, sub] = spec.path.split(".") as [string, string | undefined];
    if (sub) ((out[top] ??= {}) as Raw)[sub] = t;
    else out[top] = { ...((out[top] as Raw | undefined) ?? {}), ...t };
  }
  out.external_key_stores = checkKeyStores(doc.external_key_stores, deps, settingsFile, problems, warnings);
  crossChecks(doc, out, deps, settingsFile, problems, warnings);
  if (problems.length > 0) return { problems, warnings };
  return { settings: { file, ...(out as object) } as Settings, problems, warnings };
}

/** Rules that span keys: IP literal, metadata size, TLS/mTLS files, tracing, PIN sources. */
function crossChecks(doc: Raw, out: Raw, deps: ValidateDeps, settingsFile: string, problems: Problem[], warnings: string[]): void {
  const server = out.server as Raw | undefined;
  if (server && typeof server.ip === "string" && server.ip !== "" && isIP(server.ip) === 0) {
    problems.push({ path: "[server].ip", expected: "an IP address such as 0.0.0.0 or 127.0.0.1", got: describe(server.ip) });
  }
  const cm = server?.ciphertext_metadata_b64;
  if (typeof cm === "string" && cm !== "") {
    const bytes = Buffer.from(cm, "base64");
    if (bytes.toString("base64") !== cm || bytes.length > 20) {
      problems.push({ path: "[server].ciphertext_metadata_b64", expected: "canonical Base64 of at most 20 bytes", got: describe(cm) });
    }
  }
  const tracing = out.tracing as Raw | undefined;
  if (tracing) {
    const anyWriter = tracing.is_stdout_writer_enabled === true || tracing.is_file_writer_enabled === true;
    if (anyWriter && tracing.level === undefined && get(doc, "tracing.level") === undefined) {
      problems.push({ path: "[tracing].level", expected: "TRACE, DEBUG, INFO, WARN or ERROR (a writer is enabled)", got: describe(undefined) });
    }
    if (tracing.level === undefined) tracing.level = "INFO";
    else tracing.level = String(tracing.level).toUpperCase();
    if (tracing.is_file_writer_enabled === true) {
      for (const k of ["directory", "file_prefix", "rotation_kind"]) {
        if (tracing[k] === undefined || tracing[k] === "") {
          problems.push({ path: `[tracing].${k}`, expected: "a value (is_file_writer_enabled = true)", got: describe(tracing[k]) });
        }
      }
      if (typeof tracing.rotation_kind === "string") tracing.rotation_kind = tracing.rotation_kind.toUpperCase();
    }
  }
  const security = out.security as Raw | undefined;
  if (security?.secondary_auth === "Oso") {
    problems.push({
      path: "[security].secondary_auth",
      expected:
        "absent: xksctl does not evaluate Oso (Polar) policies and will not serve without the authorization you configured; remove secondary_auth and [security.oso] and write the policy as [[external_key_stores.allow]] rules (docs/operations.md, Secondary authorization)",
      got: '"Oso"',
    });
  }
  const tls = out.tls as Raw | undefined;
  if (security?.is_tls_enabled === true) {
    if (!tls) problems.push({ path: "[tls]", expected: "a table (is_tls_enabled = true)", got: "nothing (table absent)" });
    else {
      for (const k of ["tls_cert_pem", "tls_key_pem"]) {
        if (!tls[k]) problems.push({ path: `[tls].${k}`, expected: "a PEM file path (is_tls_enabled = true)", got: describe(tls[k]) });
      }
    }
  }
  if (security?.is_mtls_enabled === true) {
    if (security.is_tls_enabled !== true) {
      problems.push({ path: "[security].is_mtls_enabled", expected: "false while is_tls_enabled = false", got: "true (boolean)" });
    }
    for (const k of ["mtls_client_ca_pem", "mtls_client_dns_name"]) {
      if (!tls?.[k]) problems.push({ path: `[tls].${k}`, expected: "a value (is_mtls_enabled = true)", got: describe(tls?.[k]) });
    }
  }
  if (security?.is_sigv4_auth_enabled === false) {
    warnings.push("[security].is_sigv4_auth_enabled: false; every request is accepted unsigned (never in production)");
  }
  const pkcs11 = out.pkcs11 as Raw | undefined;
  const rawPkcs11 = get(doc, "pkcs11");
  if (pkcs11 && isTable(rawPkcs11)) {
    const pin = resolveSecret(rawPkcs11, "user_pin", "[pkcs11]", deps, settingsFile, problems);
    if (pin === undefined && problems.every((p) => !p.path.startsWith("[pkcs11].user_pin"))) {
      problems.push({ path: "[pkcs11].user_pin", expected: "the token's user PIN (or user_pin_file / user_pin_env)", got: describe(undefined) });
    }
    pkcs11.user_pin = pin ?? "";
    delete pkcs11.user_pin_file;
    delete pkcs11.user_pin_env;
    const envModule = deps.env.PKCS11_HSM_MODULE;
    if (envModule) pkcs11.PKCS11_HSM_MODULE = envModule;
    if (get(doc, "pkcs11.session_wait_milli") === undefined && typeof pkcs11.session_pool_timeout_milli === "number" && pkcs11.session_pool_timeout_milli > 0) {
      pkcs11.session_wait_milli = pkcs11.session_pool_timeout_milli;
    }
  }
}
