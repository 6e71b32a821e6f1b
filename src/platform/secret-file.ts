/**
 * Reading a file that holds a secret (a SigV4 secret, a PIN) together with its permission bits,
 * from one open file: the mode judged is the mode of the file that was read. What mode is
 * acceptable is the caller's rule.
 */
import fs from "node:fs";
import { XksctlError } from "../errors.js";

/** The text and permission bits of `file`; a failure is XKS_SECRET_SOURCE "Cannot read the <what> file ...". */
export function readPrivateFile(file: string, what: string): { text: string; mode: number } {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const mode = fs.fstatSync(fd).mode & 0o777;
    return { text: fs.readFileSync(fd, "utf8"), mode };
  } catch (err) {
    throw new XksctlError("XKS_SECRET_SOURCE", `Cannot read the ${what} file ${file} (${(err as NodeJS.ErrnoException).code ?? "error"}).`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Permission bits as four octal digits, as chmod takes them (0600). */
export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}
