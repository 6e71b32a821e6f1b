/** Picks one `[[external_key_stores]]` entry of a parsed (not yet validated) settings document. */
import { XksctlError } from "../errors.js";
import { isValidUriPrefix, uriPathOf } from "../rules.js";

/** One key store entry as written in the file. */
export interface RawStore {
  /** Position among the `[[external_key_stores]]` entries (0-based). */
  index: number;
  prefix: string;
  keyIds: string[];
  raw: Record<string, unknown>;
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

/** The XksProxyUriPath of a store; throws XKS_CONFIG_INVALID when its prefix gives none KMS accepts. */
export function storeUriPath(store: RawStore): string {
  const uriPath = uriPathOf(store.prefix);
  if (!isValidUriPrefix(store.prefix)) {
    throw new XksctlError("XKS_CONFIG_INVALID", `uri_path_prefix ${JSON.stringify(store.prefix)} does not give a valid XksProxyUriPath (${uriPath}).`);
  }
  return uriPath;
}
