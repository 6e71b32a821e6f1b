/**
 * Group `settings`: the settings file is found and valid (the same code and messages as
 * `xksctl config validate`), files holding secrets are 0600 and owned by the service's user,
 * paths resolve, no key id twice, credentials in KMS's formats and not the reference's samples,
 * and the session pool is not larger than what the process can run at once.
 */
import path from "node:path";
import { formatProblem, holdsInlineSecret } from "../../config/load.js";
import { resolveSettingsPath } from "../../config/paths.js";
import { rawStores } from "../../config/stores.js";
import { maxConcurrentHsmCalls } from "../../hsm/types.js";
import { formatMode } from "../../platform/secret-file.js";
import { rawValue, requireSettings, settingsFacts } from "./facts.js";
import type { CheckOutcome, DoctorCheck, DoctorRun } from "./types.js";

/** Validation warnings that other settings checks report in their own line. */
const OWN_LINE = [/placeholder/, /lets other users read/, /is_sigv4_auth_enabled/];

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

const fileCheck: DoctorCheck = {
  id: "settings.file",
  group: "settings",
  title: "the settings file is found (--config, XKS_PROXY_SETTINGS_TOML, configuration/bootstrap.toml) and is TOML",
  needs: [],
  async run(run) {
    const f = await settingsFacts(run);
    if (f.error) return { status: "fail", message: f.error.message, fix: f.error.remedy };
    return { status: "pass", message: `${f.file} (found by ${f.source})` };
  },
};

const validCheck: DoctorCheck = {
  id: "settings.valid",
  group: "settings",
  title: "the settings validate: the reference proxy's schema and KMS's rules, as `xksctl config validate` checks them",
  needs: ["settings.file"],
  async run(run) {
    const f = await settingsFacts(run);
    const v = f.validation!;
    const cmd = `\`xksctl config validate --config ${f.file}\``;
    if (v.problems.length > 0) {
      const [first, ...rest] = v.problems;
      return {
        status: "fail",
        message: `${plural(v.problems.length, "problem")}: ${formatProblem(first!)}${rest.length > 0 ? `; and ${rest.length} more` : ""}`,
        fix: `Fix each key ${cmd} lists, in ${f.file}.`,
      };
    }
    const warnings = v.warnings.filter((w) => !OWN_LINE.some((re) => re.test(w)));
    if (warnings.length > 0) {
      return { status: "warn", message: `valid, with ${plural(warnings.length, "warning")}: ${warnings[0]}${warnings.length > 1 ? `; and ${warnings.length - 1} more` : ""}`, fix: `See ${cmd} and correct ${f.file}.` };
    }
    return { status: "pass", message: "valid (the checks of `xksctl config validate`)" };
  },
};

/** The account the proxy runs as: --service-user, else User= of the systemd unit next to the settings or installed, else the user running doctor. */
function serviceUser(run: DoctorRun, settingsFile: string): { name?: string; uid?: number; how: string } {
  const { deps, opts } = run;
  const byName = (name: string, how: string) => ({ name, uid: deps.uidOf(name), how });
  if (opts.serviceUser) return byName(opts.serviceUser, "--service-user");
  const userIn = (unit: string): string | undefined => {
    try {
      return /^\s*User\s*=\s*(\S+)\s*$/m.exec(deps.readFile(unit))?.[1];
    } catch {
      return undefined;
    }
  };
  const installed = "/etc/systemd/system/xksctl.service";
  const inUnit = userIn(installed);
  if (inUnit) return byName(inUnit, `User= in ${installed}`);
  // A unit next to the settings that is not installed yet names the account it will use, if it exists.
  const local = path.join(path.dirname(settingsFile), "xksctl.service");
  const planned = userIn(local);
  if (planned && deps.uidOf(planned) !== undefined) return byName(planned, `User= in ${local}`);
  const uid = deps.currentUid();
  const note = planned ? `${local} names User=${planned}, which does not exist yet; checked against the user running doctor` : "the user running doctor; pass --service-user for another";
  return { name: deps.userName(uid), uid, how: note };
}

/** The *_file keys as written: the PIN file, and the secret file of every store and every additional credential. */
function settingsFileKeys(doc: Record<string, unknown>): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  const pinFile = rawValue(doc, "pkcs11.user_pin_file");
  if (typeof pinFile === "string" && pinFile !== "") out.push({ key: "[pkcs11].user_pin_file", value: pinFile });
  const creds = rawStores(doc).flatMap((s) => [
    { at: `external_key_stores[${s.index}]`, raw: s.raw },
    ...(Array.isArray(s.raw.sigv4_additional_credentials) ? (s.raw.sigv4_additional_credentials as Record<string, unknown>[]) : []).map((c, j) => ({ at: `external_key_stores[${s.index}].sigv4_additional_credentials[${j}]`, raw: c ?? {} })),
  ]);
  for (const c of creds) {
    const f = c.raw.sigv4_secret_access_key_file;
    if (typeof f === "string" && f !== "") out.push({ key: `${c.at}.sigv4_secret_access_key_file`, value: f });
  }
  return out;
}

/** The files that hold a PIN or a SigV4 secret, with the settings key that names them. */
function secretFiles(doc: Record<string, unknown>, settingsFile: string, cwd: string, env: NodeJS.ProcessEnv, exists: (f: string) => boolean): { key: string; file: string }[] {
  const out: { key: string; file: string }[] = [];
  if (holdsInlineSecret(doc)) out.push({ key: "the settings file (inline PIN or secret)", file: settingsFile });
  // *_file keys resolve as serve resolves them (src/config/paths.ts): against the settings folder.
  for (const { key, value } of settingsFileKeys(doc)) {
    const r = resolveSettingsPath(value, settingsFile, env);
    if (r.ok) out.push({ key, file: r.path });
  }
  // The KMS console's proxy configuration file that init and `creds generate` write holds the secret too.
  const consoleFile = path.join(path.dirname(settingsFile), "kms-proxy-config.json");
  if (exists(consoleFile)) out.push({ key: "the KMS console file (SigV4 secret)", file: consoleFile });
  const key = rawValue(doc, "tls.tls_key_pem");
  if (rawValue(doc, "security.is_tls_enabled") === true && typeof key === "string" && key !== "") out.push({ key: "[tls].tls_key_pem", file: path.resolve(cwd, key) });
  return out;
}

const permissionsCheck: DoctorCheck = {
  id: "settings.permissions",
  group: "settings",
  title: "files holding secrets (settings with an inline PIN or secret, PIN and secret files, the TLS key) are 0600 and owned by the service's user",
  needs: ["settings.file"],
  async run(run) {
    const f = await settingsFacts(run);
    const files = secretFiles(f.doc!, f.file!, run.deps.cwd, run.deps.env, run.deps.exists);
    if (files.length === 0) return { status: "pass", message: "no file holds a PIN or secret" };
    const user = serviceUser(run, f.file!);
    if (user.uid === undefined) {
      return { status: "fail", message: `the service user ${user.name ?? "?"} (${user.how}) does not exist on this host`, fix: "Create the account (useradd --system xksctl) or pass --service-user with the account the proxy runs as." };
    }
    const open: string[] = [];
    const owner: string[] = [];
    const problems: string[] = [];
    for (const { key, file } of files) {
      let st;
      try {
        st = run.deps.stat(file);
      } catch (err) {
        problems.push(`${file} (${key}): ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`);
        continue;
      }
      const mode = st.mode & 0o777;
      if ((mode & 0o077) !== 0) {
        problems.push(`${file} is mode ${formatMode(mode)}${mode & 0o004 ? " (world-readable)" : mode & 0o040 ? " (group-readable)" : ""}`);
        open.push(file);
      }
      if (st.uid !== user.uid) {
        problems.push(`${file} is owned by ${run.deps.userName(st.uid) ?? `uid ${st.uid}`}, not ${user.name ?? `uid ${user.uid}`}`);
        owner.push(file);
      }
    }
    if (problems.length > 0) {
      const fixes = [open.length > 0 ? `chmod 600 ${open.join(" ")}` : "", owner.length > 0 ? `chown ${user.name ?? user.uid} ${owner.join(" ")}` : ""].filter(Boolean);
      return { status: "fail", message: `${problems.join("; ")} (service user ${user.name ?? user.uid}: ${user.how})`, fix: fixes.length > 0 ? `Run: ${fixes.join(" && ")}` : "Check the files named above exist and are readable by the service user." };
    }
    return { status: "pass", message: `${plural(files.length, "file")} with secrets, each 0600 and owned by ${user.name ?? user.uid} (${user.how})` };
  },
};

/** Paths that resolve against the working directory, as in the reference proxy. */
const PATH_KEYS = ["tls.tls_cert_pem", "tls.tls_key_pem", "tls.mtls_client_ca_pem", "pkcs11.PKCS11_HSM_MODULE", "pkcs11_logger.PKCS11_LOGGER_LIBRARY_PATH"];

const pathsCheck: DoctorCheck = {
  id: "settings.paths",
  group: "settings",
  title: "the files the settings name exist: *_file keys (and softhsm2_conf) relative to the settings file, the others to the working directory (as in the reference)",
  needs: ["settings.file"],
  async run(run): Promise<CheckOutcome> {
    const f = await settingsFacts(run);
    const doc = f.doc!;
    const cwd = run.deps.cwd;
    const dir = path.dirname(f.file!);
    const entries: { key: string; value: string }[] = [];
    for (const k of PATH_KEYS) {
      const v = rawValue(doc, k);
      if (typeof v === "string" && v !== "") entries.push({ key: `[${k.split(".")[0]}].${k.split(".")[1]}`, value: v });
    }
    const missingConf: string[] = [];
    const conf = rawValue(doc, "pkcs11.softhsm2_conf");
    // The one path the settings resolve against their own folder (an xksctl extension for SoftHSM).
    if (typeof conf === "string" && conf !== "" && !run.deps.exists(path.resolve(dir, conf))) missingConf.push(`[pkcs11].softhsm2_conf = ${JSON.stringify(conf)} does not exist (${path.resolve(dir, conf)})`);
    for (const { key, value } of settingsFileKeys(doc)) {
      const r = resolveSettingsPath(value, f.file!, run.deps.env);
      if (!r.ok) missingConf.push(`${key} = ${JSON.stringify(value)}: ${r.reason}`);
      else if (!run.deps.exists(r.path)) missingConf.push(`${key} = ${JSON.stringify(value)} does not exist (${r.path})`);
    }
    const fails: string[] = [...missingConf];
    const fixes: string[] = missingConf.length > 0 ? [`correct the keys named (a relative *_file or softhsm2_conf path is read from the settings file's folder)`] : [];
    const relative: string[] = [];
    for (const { key, value } of entries) {
      // A bare library name (no slash) is found by the dynamic loader's search path.
      if (key.endsWith("PKCS11_HSM_MODULE") && !value.includes("/")) continue;
      if (key.endsWith("PKCS11_HSM_MODULE") && run.deps.env.PKCS11_HSM_MODULE) continue;
      const fromCwd = path.resolve(cwd, value);
      if (path.isAbsolute(value)) {
        if (!run.deps.exists(value)) {
          fails.push(`${key} = ${JSON.stringify(value)} does not exist`);
          fixes.push(`correct ${key} in ${f.file}`);
        }
        continue;
      }
      const fromSettings = path.resolve(dir, value);
      if (run.deps.exists(fromCwd)) {
        relative.push(`${key} = ${JSON.stringify(value)} (${fromCwd})`);
      } else if (run.deps.exists(fromSettings)) {
        fails.push(`${key} = ${JSON.stringify(value)} resolves against the working directory to ${fromCwd}, which does not exist (next to the settings file it is ${fromSettings})`);
        fixes.push(`write ${key} = "${fromSettings}"`);
      } else {
        fails.push(`${key} = ${JSON.stringify(value)} does not exist (not as ${fromCwd}, nor as ${fromSettings})`);
        fixes.push(`correct ${key} in ${f.file}`);
      }
    }
    if (fails.length > 0) return { status: "fail", message: fails.join("; "), fix: `In ${f.file}: ${fixes.join("; ")} (relative paths resolve against the working directory, as in the reference proxy).` };
    if (relative.length > 0) {
      return {
        status: "warn",
        message: `relative to the working directory ${cwd}: ${relative.join("; ")}; the proxy finds them only when started there`,
        fix: `Write absolute paths in ${f.file} (or set WorkingDirectory=${cwd} in the service unit).`,
      };
    }
    return { status: "pass", message: entries.length === 0 ? "the settings name no files" : `${plural(entries.length, "path")}, absolute and present` };
  },
};

const keyIdsCheck: DoctorCheck = {
  id: "settings.key-ids",
  group: "settings",
  title: "no key id twice in a store's xks_key_id_set, and every store lists at least one key",
  needs: ["settings.file"],
  async run(run) {
    const f = await settingsFacts(run);
    const twice: string[] = [];
    const empty: string[] = [];
    let total = 0;
    for (const s of rawStores(f.doc!)) {
      total += s.keyIds.length;
      if (s.keyIds.length === 0) empty.push(`external_key_stores[${s.index}] (${JSON.stringify(s.prefix)})`);
      const seen = new Set<string>();
      for (const id of s.keyIds) {
        if (seen.has(id)) twice.push(`${JSON.stringify(id)} appears twice in external_key_stores[${s.index}].xks_key_id_set`);
        seen.add(id);
      }
    }
    if (twice.length > 0) return { status: "fail", message: [...new Set(twice)].join("; "), fix: `Remove the repeated key ids from xks_key_id_set in ${f.file}.` };
    if (empty.length > 0) return { status: "warn", message: `${empty.join(", ")} lists no key id: KMS can create no key there`, fix: `Add the key ids to xks_key_id_set in ${f.file} (\`xksctl keys list\` shows the HSM's keys).` };
    return { status: "pass", message: `${plural(total, "key id")}, none repeated` };
  },
};

const credentialsCheck: DoctorCheck = {
  id: "settings.credentials",
  group: "settings",
  title: "SigV4 is on and every credential is in KMS's formats and is not the reference proxy's sample value",
  needs: ["settings.valid"],
  async run(run) {
    const f = await settingsFacts(run);
    const settings = await requireSettings(run);
    const gen = `\`xksctl creds generate --config ${f.file}\``;
    if (!settings.security.is_sigv4_auth_enabled) {
      return { status: "fail", message: "[security] is_sigv4_auth_enabled = false: the proxy accepts any request, signed or not", fix: `Set is_sigv4_auth_enabled = true in ${f.file}.` };
    }
    // settings.valid passed, so every credential is in KMS's formats (config/validate.ts checkCredential).
    const n = settings.external_key_stores.reduce((sum, s) => sum + s.credentials.length, 0);
    const samples = (f.validation?.warnings ?? []).filter((w) => /placeholder/.test(w)).map((w) => w.split(":")[0]!);
    if (samples.length > 0) return { status: "fail", message: `the reference sample's placeholder value in ${samples.join(", ")}`, fix: `Generate a credential with ${gen} (and set the same in KMS).` };
    return { status: "pass", message: `${plural(n, "credential")} in KMS's formats, none a sample value` };
  },
};

const poolCheck: DoctorCheck = {
  id: "settings.pool",
  group: "settings",
  title: "[pkcs11] session_pool_max_size is not above the PKCS#11 calls the process can have in flight",
  needs: ["settings.valid"],
  async run(run) {
    const settings = await requireSettings(run);
    const f = await settingsFacts(run);
    const size = settings.pkcs11.session_pool_max_size;
    const max = maxConcurrentHsmCalls();
    if (size > max) {
      return { status: "warn", message: `session_pool_max_size = ${size}, but the process runs at most ${max} PKCS#11 calls at once: the sessions above ${max} only queue`, fix: `Set [pkcs11] session_pool_max_size = ${max} (or less) in ${f.file}.` };
    }
    return { status: "pass", message: `session_pool_max_size = ${size} (the process runs up to ${max} PKCS#11 calls at once)` };
  },
};

export const SETTINGS_CHECKS: readonly DoctorCheck[] = [fileCheck, validCheck, permissionsCheck, pathsCheck, keyIdsCheck, credentialsCheck, poolCheck];
