/**
 * The shapes shared by the doctor runner (index.ts) and the check groups (one file each), and
 * how a thrown XksctlError becomes a failed check.
 */
import { ERROR_CATALOGUE, type XksctlError } from "../../errors.js";
import type { DoctorDeps } from "./deps.js";

/** The check groups, in the order they run. */
export const DOCTOR_GROUPS = ["settings", "nshield", "pkcs11", "tls", "endpoint", "network", "live"] as const;
export type DoctorGroup = (typeof DOCTOR_GROUPS)[number];

export type CheckStatus = "pass" | "warn" | "fail" | "skip";

/** What one check found. `fix` is one line naming the command or file to change (warn and fail). */
export interface CheckOutcome {
  status: CheckStatus;
  message: string;
  fix?: string;
  /**
   * A skip because the check does not apply here (TLS off, no nShield): the checks that need it
   * are skipped with the same message instead of "needs: <id>". Made by notApplicable().
   */
  notApplicable?: true;
}

/** The skip of a check that does not apply here; its message is "not applicable: <why>". */
export function notApplicable(why: string): CheckOutcome {
  return { status: "skip", message: `not applicable: ${why}`, notApplicable: true };
}

/** One check of the registry. */
export interface DoctorCheck {
  /** "<group>.<name>", stable: scripts match on it. */
  id: string;
  group: DoctorGroup;
  /** What it checks, one line (docs/doctor.md lists the same ids). */
  title: string;
  /** Checks that must not have failed (or been skipped) for this one to run. */
  needs: readonly string[];
  run(run: DoctorRun): Promise<CheckOutcome>;
}

/** One line of the report. */
export interface CheckResult {
  id: string;
  group: DoctorGroup;
  status: CheckStatus;
  message: string;
  fix: string | null;
  /** Milliseconds the check took. */
  duration: number;
}

/** `--url` mode: the live checks against any XKS proxy, with no local settings. */
export interface UrlTarget {
  /** https://host[:port][/prefix] as given. */
  url: string;
  accessKeyId: string;
  secret: string;
  region: string;
  keyIds: string[];
  /** Extra CA certificates (PEM) to trust, from --ca-file. */
  caPem?: string;
  caFile?: string;
}

/** What the admin asked for. */
export interface DoctorOptions {
  /** --config (else the usual lookup: XKS_PROXY_SETTINGS_TOML, configuration/bootstrap.toml). */
  config?: string;
  groups?: DoctorGroup[];
  /** --endpoint: the XksProxyUriEndpoint KMS uses (https://name). */
  endpoint?: string;
  /** --service-user: the account the proxy runs as (owner of the secret files). */
  serviceUser?: string;
  /** Checks were asked for by group (nShield checks then run even when nothing looks like nShield). */
  explicitGroups?: boolean;
  url?: UrlTarget;
}

/** What a check sees: the effects, the options, memoised facts shared with other checks. */
export interface DoctorRun {
  deps: DoctorDeps;
  opts: DoctorOptions;
  mode: "local" | "url";
  /** The settings file, once the settings facts found it (the report's target). */
  settingsFile?: string;
  /** Computes a fact once per run (e.g. the settings, the opened HSM); a rejection is shared too. */
  once<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Registers a cleanup (close the HSM, the HTTP agents) run after the last check. */
  onCleanup(fn: () => Promise<void> | void): void;
}

/** A thrown XksctlError as a failed check: its message, and its remedy as doctor shows it (the catalogue's `inDoctor`). */
export function failOf(err: XksctlError): CheckOutcome {
  const spec: { remedy: string; inDoctor?: string } = ERROR_CATALOGUE[err.code];
  const fix = err.remedy === spec.remedy && spec.inDoctor !== undefined ? spec.inDoctor : err.remedy;
  return { status: "fail", message: err.message, fix };
}
