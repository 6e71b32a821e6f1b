/**
 * Replaces a file without ever leaving it half-written: the new content goes to a temporary file
 * in the same directory, is fsynced and renamed over the old one; the old content is first kept
 * as `<file>.bak`. An interrupted run leaves the old file intact (at worst a stray temp file).
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { XksctlError } from "../errors.js";

/** Options of one atomic write. */
export interface AtomicWriteOptions {
  /** The file holds a secret: it (and its backup) get mode 0600 whatever the old mode was. */
  secret?: boolean;
  /** Mode of a new non-secret file. @default 0o644 */
  newFileMode?: number;
  /** Keep the old content as `<file>.bak`. @default true */
  backup?: boolean;
  /** Test seam: called after the temp file is complete, before the rename. */
  beforeRename?: (tempFile: string) => void;
}

/** What was written. */
export interface AtomicWriteResult {
  /** The file written (symlinks resolved: the link itself is kept). */
  file: string;
  /** The backup of the old content, when there was one. */
  backup?: string;
  mode: number;
}

function writeError(file: string, err: unknown): XksctlError {
  const code = (err as NodeJS.ErrnoException).code ?? String((err as Error).message ?? err);
  return new XksctlError("XKS_FILE_WRITE", `Could not write ${file} (${code}).`, { cause: err });
}

/** Writes `content` to a fresh temp file next to `target`, fsynced, with `mode` (and owner). */
function writeTemp(target: string, content: string | Buffer, mode: number, owner?: { uid: number; gid: number }): string {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`);
  const fd = fs.openSync(tmp, "wx", mode);
  try {
    fs.writeFileSync(fd, content);
    fs.fchmodSync(fd, mode); // the umask may have narrowed the mode given to open
    if (owner && typeof process.getuid === "function" && process.getuid() === 0) {
      try {
        fs.fchownSync(fd, owner.uid, owner.gid);
      } catch {
        /* keep root ownership rather than fail */
      }
    }
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  return tmp;
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* some file systems refuse a directory fsync; the rename is still atomic */
  }
}

/** Replaces `file` atomically, keeping a backup of the old content. Throws XKS_FILE_WRITE. */
export function writeFileAtomic(file: string, content: string | Buffer, opts: AtomicWriteOptions = {}): AtomicWriteResult {
  let target = path.resolve(file);
  let old: fs.Stats | undefined;
  try {
    target = fs.realpathSync(target);
    old = fs.statSync(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw writeError(target, err);
  }
  if (old && !old.isFile()) throw new XksctlError("XKS_FILE_WRITE", `${target} is not a regular file.`);
  const mode = opts.secret ? 0o600 : old ? old.mode & 0o7777 : (opts.newFileMode ?? 0o644);
  const owner = old ? { uid: old.uid, gid: old.gid } : undefined;
  let backup: string | undefined;
  const temps: string[] = [];
  try {
    if (old && opts.backup !== false) {
      backup = `${target}.bak`;
      const bakTmp = writeTemp(backup, fs.readFileSync(target), opts.secret ? 0o600 : old.mode & 0o777, owner);
      temps.push(bakTmp);
      fs.renameSync(bakTmp, backup);
      temps.pop();
    }
    const tmp = writeTemp(target, content, mode, owner);
    temps.push(tmp);
    opts.beforeRename?.(tmp);
    fs.renameSync(tmp, target);
    temps.pop();
    fsyncDir(path.dirname(target));
  } catch (err) {
    for (const t of temps) fs.rmSync(t, { force: true });
    throw writeError(target, err);
  }
  return { file: target, ...(backup ? { backup } : {}), mode };
}
