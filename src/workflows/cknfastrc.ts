/**
 * `config cknfastrc`: reads the nShield cknfastrc, plans the lines a protection method needs
 * (config/cknfastrc.ts), shows the change as a diff and, unless a dry run, writes it atomically
 * with a backup.
 */
import { applyCknfastPlan, cknfastEnvOverrides, cknfastPlan, readCknfastrcText, type CknfastChange, type CknfastProtection } from "../config/cknfastrc.js";
import { writeFileAtomic } from "../platform/atomic-write.js";
import { unifiedDiff } from "../platform/text-diff.js";

/** The outcome of `config cknfastrc`. */
export interface CknfastrcUpdate {
  file: string;
  protection: CknfastProtection;
  changes: CknfastChange[];
  /** Unified diff of the change ("" when nothing changes). */
  diff: string;
  /** False for --dry-run or when nothing changes. */
  written: boolean;
  backup?: string;
  /** Variables set differently in this process's environment (the environment wins, §9.1). */
  envOverrides: string[];
}

/** Plans (and unless dryRun, writes) the cknfastrc change for a protection method. */
export function updateCknfastrc(file: string, protection: CknfastProtection, opts: { dryRun: boolean; env: NodeJS.ProcessEnv }): CknfastrcUpdate {
  const old = readCknfastrcText(file);
  const plan = cknfastPlan(protection);
  const { text, changes } = applyCknfastPlan(old, plan, `set by xksctl config cknfastrc --protection ${protection}`);
  const diff = unifiedDiff(old, text, { fromFile: `a${file}`, toFile: `b${file}` });
  const wanted = { ...plan.set, ...Object.fromEntries(changes.map((c) => [c.name, c.to])) };
  const envOverrides = cknfastEnvOverrides(wanted, opts.env).map((o) => `${o.name}=${o.envValue} in the environment overrides the file`);
  if (opts.dryRun || changes.length === 0) return { file, protection, changes, diff, written: false, envOverrides };
  const w = writeFileAtomic(file, text, { newFileMode: 0o644 });
  return { file: w.file, protection, changes, diff, written: true, ...(w.backup ? { backup: w.backup } : {}), envOverrides };
}
