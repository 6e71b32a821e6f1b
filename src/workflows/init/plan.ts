/**
 * The summary init shows before it changes anything: the HSM actions and every file with what
 * happens to it. Nothing is done until the summary is confirmed (or --yes); then the files are
 * written one by one, each atomically, old versions kept as `.bak` (0600 for secret files).
 */
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../../platform/atomic-write.js";
import { unifiedDiff } from "../../platform/text-diff.js";

/** One file init writes. */
export interface PlannedFile {
  path: string;
  /** What the file is, one line. */
  what: string;
  /** "create": new; "replace": exists, rewritten (backup); "update": exists, lines changed (backup). */
  action: "create" | "replace" | "update";
  /** Holds a secret (PIN, private key, SigV4 secret): mode 0600, backups 0600. */
  secret: boolean;
  /** Mode of a new non-secret file. */
  mode: number;
  /** For "update": the change as a unified diff. */
  diff?: string;
  /** The content, made when the file is written (some content exists only after the HSM steps). */
  content: () => string;
}

/** The whole plan: HSM actions in order, then files in the order they are written. */
export interface InitPlan {
  backend: "nshield" | "softhsm";
  dir: string;
  /** One line each: "create the Operator Card Set ...", "generate the AES-256 key ...". */
  actions: string[];
  files: PlannedFile[];
  /** Facts the admin should see with the summary (kept credential, FIPS card, ...). */
  notes: string[];
}

/** "create" or "replace" for a file path. */
function actionFor(file: string): "create" | "replace" {
  return fs.existsSync(file) ? "replace" : "create";
}

/** A planned file; the action is found from the disk. */
export function plannedFile(file: string, what: string, content: () => string, opts: { secret?: boolean; mode?: number } = {}): PlannedFile {
  return { path: file, what, action: actionFor(file), secret: Boolean(opts.secret), mode: opts.secret ? 0o600 : (opts.mode ?? 0o644), content };
}

/** A planned in-place change of an existing text file (or a new one), with its diff. */
export function plannedEdit(file: string, what: string, oldText: string, newText: string, mode = 0o644): PlannedFile {
  const exists = fs.existsSync(file);
  return {
    path: file,
    what,
    action: exists ? "update" : "create",
    secret: false,
    mode,
    ...(exists ? { diff: unifiedDiff(oldText, newText, { fromFile: `a${file}`, toFile: `b${file}` }) } : {}),
    content: () => newText,
  };
}

/** What was written. */
export interface WrittenFile {
  path: string;
  what: string;
  action: PlannedFile["action"];
  mode: number;
  backup?: string;
}

/** Writes the plan's files in order (directories made 0750 as needed). */
export function writePlannedFiles(files: readonly PlannedFile[]): WrittenFile[] {
  const out: WrittenFile[] = [];
  for (const f of files) {
    fs.mkdirSync(path.dirname(f.path), { recursive: true, mode: 0o750 });
    const w = writeFileAtomic(f.path, f.content(), { secret: f.secret, newFileMode: f.mode });
    out.push({ path: w.file, what: f.what, action: f.action, mode: w.mode, ...(w.backup ? { backup: w.backup } : {}) });
  }
  return out;
}
