/**
 * Finds, reads, parses and validates the settings file, in the reference proxy's lookup order:
 * --config, then XKS_PROXY_SETTINGS_TOML, then configuration/bootstrap.toml (relative to the
 * working directory) whose XKS_PROXY_SETTINGS_TOML key names the file.
 */
import fs from "node:fs";
import path from "node:path";
import TOML from "@iarna/toml";
import { XksctlError } from "../errors.js";
import { formatMode } from "../platform/secret-file.js";
import { validateSettings, type Problem, type ValidateDeps, type ValidationResult } from "./validate.js";
import type { Settings } from "./types.js";

/** Where the settings file path came from. */
export type ConfigSource = "--config" | "XKS_PROXY_SETTINGS_TOML" | "configuration/bootstrap.toml";

/** Resolves the settings file path without reading it. */
export function locateSettings(explicit: string | undefined, env: NodeJS.ProcessEnv, cwd = process.cwd()): { file: string; source: ConfigSource } {
  if (explicit) return { file: path.resolve(cwd, explicit), source: "--config" };
  const fromEnv = env.XKS_PROXY_SETTINGS_TOML;
  if (fromEnv) return { file: path.resolve(cwd, fromEnv), source: "XKS_PROXY_SETTINGS_TOML" };
  const bootstrap = path.resolve(cwd, "configuration/bootstrap.toml");
  if (!fs.existsSync(bootstrap)) {
    throw new XksctlError("XKS_CONFIG_NOT_FOUND", "No settings file: no --config, XKS_PROXY_SETTINGS_TOML is unset, and configuration/bootstrap.toml does not exist here.");
  }
  const boot = parseToml(fs.readFileSync(bootstrap, "utf8"), bootstrap);
  const named = boot.XKS_PROXY_SETTINGS_TOML;
  if (typeof named !== "string" || named === "") {
    throw new XksctlError("XKS_CONFIG_INVALID", `${bootstrap}: XKS_PROXY_SETTINGS_TOML: expected a file path, got nothing`);
  }
  return { file: path.resolve(cwd, named), source: "configuration/bootstrap.toml" };
}

/** Parses TOML text; a syntax error becomes XKS_CONFIG_PARSE naming line and column. */
function parseToml(text: string, file: string): Record<string, unknown> {
  try {
    return TOML.parse(text) as Record<string, unknown>;
  } catch (err) {
    const e = err as { line?: number; col?: number; message?: string };
    const first = String(e.message ?? "invalid TOML").split("\n")[0];
    const where = e.line !== undefined ? `:${e.line + 1}:${(e.col ?? 0) + 1}` : "";
    throw new XksctlError("XKS_CONFIG_PARSE", `${file}${where}: ${first}`);
  }
}

/** Default side effects for validation. */
export function defaultValidateDeps(env: NodeJS.ProcessEnv = process.env): ValidateDeps {
  return { env, readSecretFile: (f) => fs.readFileSync(f, "utf8") };
}

/** A settings file read and parsed, not validated (`creds generate` must work on empty credentials). */
export interface SettingsDocument {
  file: string;
  text: string;
  doc: Record<string, unknown>;
}

/** Reads and parses a settings file; XKS_CONFIG_NOT_FOUND when unreadable, XKS_CONFIG_PARSE when not TOML. */
export function readSettingsDocument(file: string): SettingsDocument {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new XksctlError("XKS_CONFIG_NOT_FOUND", `Cannot read settings file ${file} (${(err as NodeJS.ErrnoException).code ?? "error"}).`);
  }
  return { file, text, doc: parseToml(text, file) };
}

/** Reads and validates a settings file without throwing on problems. */
export function checkSettingsFile(file: string, deps: ValidateDeps): ValidationResult {
  return checkSettingsDocument(readSettingsDocument(file).doc, file, deps);
}

/** Validates a settings document already read from `file`, with checkSettingsFile's file-mode warning. */
export function checkSettingsDocument(doc: Record<string, unknown>, file: string, deps: ValidateDeps): ValidationResult {
  const result = validateSettings(doc, file, deps);
  const mode = fs.statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0 && holdsInlineSecret(doc)) {
    result.warnings.push(`${file}: mode ${formatMode(mode)} lets other users read the PIN or SigV4 secrets; run chmod 600 ${file}`);
  }
  return result;
}

/**
 * Whether the settings text itself holds the PIN or a SigV4 secret (not a _file / _env reference),
 * in a key store or in one of its sigv4_additional_credentials. Such a file is written 0600.
 */
export function holdsInlineSecret(doc: Record<string, unknown>): boolean {
  const pin = (doc.pkcs11 as Record<string, unknown> | undefined)?.user_pin;
  const inline = (t: unknown) => {
    const v = (t as Record<string, unknown> | null | undefined)?.sigv4_secret_access_key;
    return typeof v === "string" && v !== "";
  };
  const stores = Array.isArray(doc.external_key_stores) ? (doc.external_key_stores as Record<string, unknown>[]) : [];
  return (
    (typeof pin === "string" && pin !== "") ||
    stores.some((s) => inline(s) || (Array.isArray(s?.sigv4_additional_credentials) && (s.sigv4_additional_credentials as unknown[]).some(inline)))
  );
}

/** Formats one problem as `path: expected X, got Y`. */
export function formatProblem(p: Problem): string {
  return `${p.path}: expected ${p.expected}, got ${p.got}`;
}

/** Loads, validates and freezes the settings; throws XKS_CONFIG_INVALID listing every problem. */
export function loadSettings(
  explicit: string | undefined,
  deps: ValidateDeps = defaultValidateDeps(),
  cwd = process.cwd(),
): { settings: Settings; warnings: string[] } {
  const { file } = locateSettings(explicit, deps.env, cwd);
  const result = checkSettingsFile(file, deps);
  if (!result.settings) {
    const n = result.problems.length;
    throw new XksctlError("XKS_CONFIG_INVALID", `${file}: ${n} problem${n === 1 ? "" : "s"}`, {
      details: result.problems.map(formatProblem),
    });
  }
  return { settings: deepFreeze(result.settings), warnings: result.warnings };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
