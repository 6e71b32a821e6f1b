/**
 * What a SIGHUP may change (docs/operations.md, "Signals"). A reload is all or nothing: if the
 * new file changes any key below, the whole reload is refused and the running settings stay;
 * otherwise every change is applied (key sets, credentials, TLS certificate and key files,
 * region/service, ciphertext metadata, [limits], the [server] timeouts and limits, keepalive).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import type { Settings } from "../config/types.js";

/** One refused change: the key and why. */
export interface Refusal {
  key: string;
  reason: string;
}

const WEAKENS = "it would change the proxy's authentication or transport security; restart the service to change it";
const RESTART = "it is read once at start-up; restart the service to change it";

type Getter = (s: Settings) => unknown;

/** Keys a reload must not change, with why. Whole tables are compared key by key. */
const FIXED: { key: string; get: Getter; reason: string }[] = [
  { key: "[security] is_sigv4_auth_enabled", get: (s) => s.security.is_sigv4_auth_enabled, reason: WEAKENS },
  { key: "[security] is_tls_enabled", get: (s) => s.security.is_tls_enabled, reason: WEAKENS },
  { key: "[security] is_mtls_enabled", get: (s) => s.security.is_mtls_enabled, reason: WEAKENS },
  { key: "[security] secondary_auth", get: (s) => s.security.secondary_auth, reason: WEAKENS },
  { key: "[tls] mtls_client_ca_pem", get: caDigest, reason: WEAKENS },
  { key: "[tls] mtls_client_dns_name", get: (s) => (s.security.is_mtls_enabled ? s.tls?.mtls_client_dns_name : undefined), reason: WEAKENS },
  { key: "[server] ip", get: (s) => s.server.ip, reason: RESTART },
  { key: "[server] port", get: (s) => s.server.port, reason: RESTART },
  { key: "[server] port_http_ping", get: (s) => s.server.port_http_ping, reason: RESTART },
  { key: "[server] fleet_size", get: (s) => s.server.fleet_size, reason: RESTART },
  // Node takes the TLS handshake timeout only when the server is created; workers are forked at start.
  { key: "[server] tls_handshake_timeout_milli", get: (s) => s.server.tls_handshake_timeout_milli, reason: RESTART },
  { key: "[server] workers", get: (s) => s.server.workers, reason: RESTART },
];

/** Tables read once at start-up (the HSM is opened, the logger created, with them). */
const FIXED_TABLES: { table: string; get: (s: Settings) => Record<string, unknown> | undefined }[] = [
  { table: "pkcs11", get: (s) => s.pkcs11 },
  { table: "pkcs11_logger", get: (s) => s.pkcs11_logger },
  { table: "hsm_capabilities", get: (s) => s.hsm_capabilities },
  { table: "tracing", get: (s) => s.tracing },
  { table: "metrics", get: (s) => s.metrics },
];

/** The CA file's SHA-256 (its content, not only its name, must stay), or its read error. */
function fileDigest(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return `${file} sha256:${createHash("sha256").update(fs.readFileSync(file)).digest("hex")}`;
  } catch (err) {
    return `${file} unreadable (${(err as NodeJS.ErrnoException).code ?? "error"})`;
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Why `next` cannot replace `running` (empty: it can). Secrets are compared, never shown. */
export function reloadRefusals(running: Settings, next: Settings, runningCaDigest?: string): Refusal[] {
  const out: Refusal[] = [];
  for (const f of FIXED) {
    const before = f.key === "[tls] mtls_client_ca_pem" && runningCaDigest !== undefined ? runningCaDigest : f.get(running);
    if (!same(before, f.get(next))) out.push({ key: f.key, reason: f.reason });
  }
  // Changing a store's allow rules is policy work a reload must allow; dropping them all would
  // leave that store on SigV4 alone, which weakens it.
  for (const store of running.external_key_stores) {
    const after = next.external_key_stores.find((s) => s.uri_path_prefix === store.uri_path_prefix);
    if (store.allow.length > 0 && (!after || after.allow.length === 0)) {
      out.push({ key: `external_key_stores ${JSON.stringify(store.uri_path_prefix)} allow`, reason: `removing every allow rule leaves the store on SigV4 alone; ${WEAKENS.replace(/^it would change/, "that changes")}` });
    }
  }
  for (const t of FIXED_TABLES) {
    const a = t.get(running) ?? {};
    const b = t.get(next) ?? {};
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!same(a[k], b[k])) out.push({ key: `[${t.table}] ${k}`, reason: RESTART });
    }
  }
  return out;
}

/** The digest of the running mTLS CA file, taken at start so a later edit of that file is seen. */
export function caDigest(s: Settings): string | undefined {
  return s.security.is_mtls_enabled ? fileDigest(s.tls?.mtls_client_ca_pem) : undefined;
}

/** The keys whose values differ (for the "settings reloaded" line; secrets by name only). */
export function changedKeys(running: Settings, next: Settings): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, at: string) => {
    if (same(a, b)) return;
    if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
      const ra = a as Record<string, unknown>;
      const rb = b as Record<string, unknown>;
      for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) walk(ra[k], rb[k], at ? `${at}.${k}` : k);
    } else out.push(at);
  };
  walk({ ...running, file: undefined }, { ...next, file: undefined }, "");
  return out;
}
