/**
 * Reads a settings file as text plus parsed TOML (not validated: `creds generate` must work on a
 * file whose credentials are still empty) and picks one `[[external_key_stores]]` entry.
 */
import fs from "node:fs";
import { XksctlError } from "../errors.js";
import { parseToml } from "./load.js";

/** A settings file before validation. */
export interface SettingsDocument {
  file: string;
  text: string;
  doc: Record<string, unknown>;
}

/** One key store entry as written in the file. */
export interface RawStore {
  /** Position among the `[[external_key_stores]]` entries (0-based). */
  index: number;
  prefix: string;
  keyIds: string[];
  raw: Record<string, unknown>;
}

/** Reads and parses a settings file; XKS_CONFIG_NOT_FOUND when unreadable. */
export function readSettingsDocument(file: string): SettingsDocument {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new XksctlError("XKS_CONFIG_NOT_FOUND", `Cannot read settings file ${file} (${(err as NodeJS.ErrnoException).code ?? "error"}).`);
  }
  return { file, text, doc: parseToml(text, file) };
}

/** The key stores of a parsed document. */
export function rawStores(doc: Record<string, unknown>): RawStore[] {
  const list = doc.external_key_stores;
  if (!Array.isArray(list)) return [];
  return list.map((raw, index) => {
    const r = (raw ?? {}) as Record<string, unknown>;
    const ids = Array.isArray(r.xks_key_id_set) ? r.xks_key_id_set.filter((x): x is string => typeof x === "string") : [];
    return { index, prefix: typeof r.uri_path_prefix === "string" ? r.uri_path_prefix : "", keyIds: ids, raw: r };
  });
}

/** Picks the store by uri_path_prefix, or the only one when none is named. */
export function selectStore(doc: Record<string, unknown>, prefix: string | undefined, file: string): RawStore {
  const stores = rawStores(doc);
  if (stores.length === 0) throw new XksctlError("XKS_STORE_NOT_FOUND", `${file} has no [[external_key_stores]] entry.`);
  const known = stores.map((s) => JSON.stringify(s.prefix)).join(", ");
  if (prefix === undefined) {
    if (stores.length === 1) return stores[0]!;
    throw new XksctlError("XKS_STORE_NOT_FOUND", `${file} has ${stores.length} key stores; say which with --store (one of ${known}).`);
  }
  const want = prefix === "/" ? "" : prefix.replace(/\/+$/, "");
  const hit = stores.find((s) => s.prefix === want);
  if (!hit) throw new XksctlError("XKS_STORE_NOT_FOUND", `No key store with uri_path_prefix ${JSON.stringify(prefix)} in ${file} (known: ${known}).`);
  return hit;
}
