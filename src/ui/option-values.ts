/** Parsing of option values shared by several commands (not a command itself). */
import { XksctlError } from "../errors.js";

/** Parses a decimal integer option in [min, max]; throws XKS_USAGE naming the flag. */
export function parseSmallInt(raw: string, flag: string, min: number, max: number): number {
  const n = /^\d{1,6}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new XksctlError("XKS_USAGE", `${flag} must be an integer ${min}-${max}, got ${JSON.stringify(raw)}`);
  return n;
}
