/**
 * `xksctl doctor`: every check an nShield/XKS admin makes by hand, as a registry of checks with an
 * id, a group and the checks it needs. The runner runs them in registry order; a check whose
 * prerequisite failed is skipped ("needs: <id>"), never failed, and every other check still runs.
 * Checks reach the machine only through DoctorDeps (exec, HSM opener, clock, DNS, TCP, HTTP, files),
 * so tests can drive each one to pass and to fail. Doctor writes nothing.
 */
import { isXksctlError } from "../../errors.js";
import type { DoctorDeps } from "./deps.js";
import { ENDPOINT_CHECKS } from "./endpoint.js";
import { LIVE_CHECKS } from "./live.js";
import { NETWORK_CHECKS } from "./network.js";
import { NSHIELD_CHECKS } from "./nshield.js";
import { PKCS11_CHECKS } from "./pkcs11.js";
import { SETTINGS_CHECKS } from "./settings.js";
import { TLS_CHECKS } from "./tls.js";
import type { CheckResult, CheckStatus, DoctorCheck, DoctorGroup, DoctorOptions, DoctorRun } from "./types.js";
import { DOCTOR_GROUPS, failOf } from "./types.js";

export type { CheckOutcome, CheckResult, CheckStatus, DoctorCheck, DoctorGroup, DoctorOptions, DoctorRun, UrlTarget } from "./types.js";
export { DOCTOR_GROUPS } from "./types.js";

/** Every check, in the order they run and are shown. A check's needs come before it. */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  ...SETTINGS_CHECKS,
  ...NSHIELD_CHECKS,
  ...PKCS11_CHECKS,
  ...TLS_CHECKS,
  ...ENDPOINT_CHECKS,
  ...NETWORK_CHECKS,
  ...LIVE_CHECKS,
];

/** What a doctor run found. */
export interface DoctorReport {
  /** "local": the settings of this host; "url": --url against any XKS proxy. */
  mode: "local" | "url";
  /** The settings file, or the --url. */
  target: string;
  checks: CheckResult[];
  summary: Record<CheckStatus, number>;
  /** 0 when nothing failed (warnings allowed), 1 otherwise. */
  exitCode: 0 | 1;
}

/** The checks a run includes: those of the groups asked for, plus everything they need (in registry order). */
export function selectChecks(checks: readonly DoctorCheck[], groups: readonly DoctorGroup[] | undefined, mode: "local" | "url"): DoctorCheck[] {
  if (mode === "url") return checks.filter((c) => c.group === "live");
  const wanted = new Set(groups && groups.length > 0 ? groups : DOCTOR_GROUPS);
  const byId = new Map(checks.map((c) => [c.id, c]));
  const keep = new Set<string>();
  const add = (c: DoctorCheck): void => {
    if (keep.has(c.id)) return;
    keep.add(c.id);
    for (const n of c.needs) {
      const need = byId.get(n);
      if (!need) throw new Error(`doctor check ${c.id} needs unknown check ${n}`);
      add(need);
    }
  };
  for (const c of checks) if (wanted.has(c.group)) add(c);
  return checks.filter((c) => keep.has(c.id));
}

/** Checks the registry: unique ids, known needs that come earlier. Throws on a programming error. */
export function assertRegistry(checks: readonly DoctorCheck[]): void {
  const seen = new Set<string>();
  for (const c of checks) {
    if (seen.has(c.id)) throw new Error(`doctor check ${c.id} is registered twice`);
    if (!c.id.startsWith(`${c.group}.`)) throw new Error(`doctor check ${c.id} is not named after its group ${c.group}`);
    for (const n of c.needs) if (!seen.has(n)) throw new Error(`doctor check ${c.id} needs ${n}, which does not run before it`);
    seen.add(c.id);
  }
}

/**
 * Why a check cannot run, from its needs' results; undefined when it can. `notApplicable`: a need
 * did not apply (its id is in `na`), and the check inherits that skip and its message.
 */
function blockedBy(check: DoctorCheck, results: Map<string, CheckResult>, na: ReadonlySet<string>, mode: "local" | "url"): { why: string; notApplicable: boolean } | undefined {
  for (const n of check.needs) {
    const r = results.get(n);
    if (!r) {
      // In --url mode the local checks a live check needs do not exist: there are no local settings.
      if (mode === "url") continue;
      return { why: `needs: ${n}`, notApplicable: false };
    }
    if (r.status === "fail") return { why: `needs: ${n}`, notApplicable: false };
    if (r.status === "skip") return na.has(n) ? { why: r.message, notApplicable: true } : { why: `needs: ${n}`, notApplicable: false };
  }
  return undefined;
}

/** A run's shared state: memoised facts (settings read once, HSM opened once) and cleanups. */
function createRun(deps: DoctorDeps, opts: DoctorOptions, mode: "local" | "url"): DoctorRun & { cleanup(): Promise<void> } {
  const memo = new Map<string, Promise<unknown>>();
  const cleanups: (() => Promise<void> | void)[] = [];
  return {
    deps,
    opts,
    mode,
    once<T>(key: string, fn: () => Promise<T>): Promise<T> {
      let p = memo.get(key) as Promise<T> | undefined;
      if (!p) {
        p = fn();
        memo.set(key, p);
        // A rejected fact is read by several checks; none of them may leave it unhandled.
        p.catch(() => undefined);
      }
      return p;
    },
    onCleanup(fn) {
      cleanups.push(fn);
    },
    async cleanup() {
      for (const fn of cleanups.reverse()) {
        try {
          await fn();
        } catch {
          /* a cleanup failure must not hide the report */
        }
      }
    },
  };
}

/** Runs the selected checks; `onResult` sees each result as soon as it is known. */
export async function runDoctor(
  deps: DoctorDeps,
  opts: DoctorOptions,
  hooks: { onResult?: (r: CheckResult) => void; checks?: readonly DoctorCheck[] } = {},
): Promise<DoctorReport> {
  const registry = hooks.checks ?? DOCTOR_CHECKS;
  assertRegistry(registry);
  const mode = opts.url ? "url" : "local";
  const selected = selectChecks(registry, opts.groups, mode);
  const results = new Map<string, CheckResult>();
  /** The checks that did not apply, and those skipped because a need did not apply. */
  const na = new Set<string>();
  const run = createRun(deps, opts, mode);
  run.onCleanup(() => deps.http.close());
  const out: CheckResult[] = [];
  try {
    for (const check of selected) {
      const started = deps.monotonicMs();
      const blocked = blockedBy(check, results, na, mode);
      let r: CheckResult;
      if (blocked !== undefined) {
        if (blocked.notApplicable) na.add(check.id);
        r = { id: check.id, group: check.group, status: "skip", message: blocked.why, fix: null, duration: 0 };
      } else {
        let outcome;
        try {
          outcome = await check.run(run);
        } catch (err) {
          outcome = isXksctlError(err)
            ? failOf(err)
            : { status: "fail" as const, message: `the check itself failed: ${(err as Error)?.message ?? String(err)}`, fix: "This is a bug in xksctl: please report it with the output of `xksctl doctor --json`." };
        }
        if (outcome.status === "skip" && outcome.notApplicable) na.add(check.id);
        const fix = outcome.status === "warn" || outcome.status === "fail" ? (outcome.fix ?? "See docs/doctor.md for this check.") : null;
        r = { id: check.id, group: check.group, status: outcome.status, message: oneLine(outcome.message), fix: fix === null ? null : oneLine(fix), duration: Math.max(0, Math.round(deps.monotonicMs() - started)) };
      }
      results.set(check.id, r);
      out.push(r);
      hooks.onResult?.(r);
    }
  } finally {
    await run.cleanup();
  }
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of out) summary[r.status]++;
  return { mode, target: opts.url ? opts.url.url : (run.settingsFile ?? opts.config ?? "(default settings lookup)"), checks: out, summary, exitCode: summary.fail > 0 ? 1 : 0 };
}

/** Collapses a message to one line (a check's report is one line, its fix another). */
function oneLine(s: string): string {
  return s.replace(/\s*\r?\n\s*/g, " ").trim();
}
