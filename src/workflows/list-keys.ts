/**
 * `keys list`: one row per key label, merged from three views: `nfkminfo -l` (name and
 * protection), the PKCS#11 token (type, size, usages) and the settings (which stores list it).
 */
import { isXksctlError } from "../errors.js";
import type { Settings } from "../config/types.js";
import type { Exec } from "../platform/exec.js";
import { listNamedKeys, type NamedKey } from "../hsm/nfast/nfkminfo.js";
import type { Hsm, KeyInfo } from "../hsm/types.js";
import { XKS_KEY_SPEC, xksKeyProblem } from "../rules.js";
import { hsmFailure } from "./test-key.js";

/** One merged key. */
export interface KeyRow {
  label: string;
  /** From nfkminfo -l; null when nfkminfo does not list it (or is not installed). */
  protection: NamedKey["protection"] | null;
  ident: string | null;
  /** The token holds an AES/secret key with this label. */
  onToken: boolean;
  keySpec: string | null;
  aes256: boolean;
  keyUsage: string[];
  /** uri_path_prefix of every store listing the label. */
  stores: string[];
  usableForXks: boolean;
  /** Why not usable (first reason), or null. */
  reason: string | null;
}

function reasonFor(row: Omit<KeyRow, "usableForXks" | "reason">, tokenCount: number): string | null {
  if (!row.onToken) return "not on the token";
  if (tokenCount > 1) return `${tokenCount} keys on the token carry this label`;
  const keyProblem = xksKeyProblem(row);
  if (keyProblem) return keyProblem;
  if (row.stores.length === 0) return "not in any store's xks_key_id_set";
  return null;
}

/** Merges the three views into rows sorted by label. */
export function mergeKeyViews(named: NamedKey[] | null, token: KeyInfo[], settings: Settings): KeyRow[] {
  const labels = new Set<string>();
  const pkcs11Named = (named ?? []).filter((k) => k.app === "pkcs11");
  for (const k of pkcs11Named) labels.add(k.name);
  for (const k of token) labels.add(k.label);
  for (const s of settings.external_key_stores) for (const id of s.xks_key_id_set) labels.add(id);
  labels.delete("");
  return [...labels].sort().map((label) => {
    const n = pkcs11Named.find((k) => k.name === label);
    const onToken = token.filter((k) => k.label === label);
    const t = onToken[0];
    const base = {
      label,
      protection: n?.protection ?? null,
      ident: n?.ident ?? null,
      onToken: t !== undefined,
      keySpec: t?.keySpec ?? null,
      aes256: t?.keySpec === XKS_KEY_SPEC,
      keyUsage: t?.keyUsage ?? [],
      stores: settings.external_key_stores.filter((s) => s.xks_key_id_set.includes(label)).map((s) => s.uri_path_prefix),
    };
    const reason = reasonFor(base, onToken.length);
    return { ...base, usableForXks: reason === null, reason };
  });
}

/** Reads all three views; nfkminfo missing is a warning (PKCS#11-only hosts, e.g. SoftHSM). */
export async function listXksKeys(
  exec: Exec,
  openHsm: (s: Settings) => Promise<Hsm>,
  settings: Settings,
): Promise<{ rows: KeyRow[]; warnings: string[] }> {
  const warnings: string[] = [];
  let named: NamedKey[] | null = null;
  try {
    named = await listNamedKeys(exec);
  } catch (err) {
    if (!isXksctlError(err) || err.code !== "XKS_TOOL_MISSING") throw err;
    warnings.push("nfkminfo not found: protection is not shown (PKCS#11 and settings views only)");
  }
  const hsm = await openHsm(settings);
  let token: KeyInfo[];
  try {
    token = await hsm.listKeys();
  } catch (err) {
    throw hsmFailure(err, "*", "Listing the token's keys");
  } finally {
    await hsm.close();
  }
  return { rows: mergeKeyViews(named, token, settings), warnings };
}
