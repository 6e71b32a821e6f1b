/**
 * Facts several checks share, each computed once per run: the settings (found, parsed,
 * validated as `config validate` does), the endpoint KMS uses, the TLS files, the opened HSM and
 * how doctor reaches the local proxy (address, TLS trust).
 */
import { isIP } from "node:net";
import path from "node:path";
import { checkSettingsDocument, locateSettings, readSettingsDocument, type ConfigSource } from "../../config/load.js";
import type { Settings } from "../../config/types.js";
import type { ValidationResult } from "../../config/validate.js";
import { XksctlError, isXksctlError } from "../../errors.js";
import type { Hsm, KeyInfo } from "../../hsm/types.js";
import { chainRoot, checkChain, kmsEndpointUrlProblem, leafCovers, type ChainCheck } from "../../platform/x509.js";
import type { DoctorRun } from "./types.js";

/** The settings as far as they could be read. */
export interface SettingsFacts {
  file?: string;
  source?: ConfigSource;
  /** Why the file was not found or not parsed. */
  error?: XksctlError;
  doc?: Record<string, unknown>;
  validation?: ValidationResult;
  settings?: Settings;
}

/** Finds, parses and validates the settings file (the same code as `xksctl config validate`). */
export function settingsFacts(run: DoctorRun): Promise<SettingsFacts> {
  return run.once("settings", async () => {
    const { deps, opts } = run;
    let file: string;
    let source: ConfigSource;
    try {
      ({ file, source } = locateSettings(opts.config, deps.env, deps.cwd));
    } catch (err) {
      if (isXksctlError(err)) return { error: err };
      throw err;
    }
    run.settingsFile = file;
    try {
      const { doc } = readSettingsDocument(file);
      const validation = checkSettingsDocument(doc, file, { env: deps.env, readSecretFile: (f) => deps.readFile(f) });
      return { file, source, doc, validation, ...(validation.settings ? { settings: validation.settings } : {}) };
    } catch (err) {
      if (isXksctlError(err)) return { file, source, error: err };
      throw err;
    }
  });
}

/** The validated settings; only for checks that need settings.valid (the runner guarantees it). */
export async function requireSettings(run: DoctorRun): Promise<Settings> {
  const f = await settingsFacts(run);
  if (!f.settings) throw new XksctlError("XKS_CONFIG_INVALID", "The settings are not valid (see settings.valid).");
  return f.settings;
}

/** A settings value as written (before validation), by dotted path. */
export function rawValue(doc: Record<string, unknown> | undefined, dotted: string): unknown {
  let cur: unknown = doc;
  for (const part of dotted.split(".")) {
    if (typeof cur !== "object" || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Is this host name or address this machine only? */
export function isLocalHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\./.test(h) || h === "0.0.0.0" || h === "::";
}

/** The endpoint KMS connects to (XksProxyUriEndpoint), and where doctor learnt it. */
export interface EndpointFacts {
  /** As given or derived, e.g. "https://xks.example.com". */
  url: string;
  host: string;
  source: "--endpoint" | "kms-proxy-config.json" | "[server]";
  /** Given by the admin or recorded by init (not derived from [server]). */
  explicit: boolean;
  /** The host is this machine only (localhost, loopback): a local test setup. */
  local: boolean;
  /** Why KMS would refuse it as XksProxyUriEndpoint, or null. */
  problem: string | null;
  /** Where a recorded endpoint was read from. */
  recordedIn?: string;
}

/** The endpoint: --endpoint, else the one init recorded (kms-proxy-config.json), else derived from [server]. */
export function endpointFacts(run: DoctorRun): Promise<EndpointFacts> {
  return run.once("endpoint", async () => {
    const { deps, opts } = run;
    if (opts.endpoint !== undefined) {
      const e = kmsEndpointUrlProblem(opts.endpoint);
      return { url: opts.endpoint, host: e.host, source: "--endpoint", explicit: true, local: isLocalHost(e.host), problem: e.problem };
    }
    const s = await settingsFacts(run);
    if (s.file) {
      const recorded = path.join(path.dirname(s.file), "kms-proxy-config.json");
      try {
        const j = JSON.parse(deps.readFile(recorded)) as { XksProxyUriEndpoint?: unknown };
        if (typeof j.XksProxyUriEndpoint === "string" && j.XksProxyUriEndpoint !== "") {
          const e = kmsEndpointUrlProblem(j.XksProxyUriEndpoint);
          return { url: j.XksProxyUriEndpoint, host: e.host, source: "kms-proxy-config.json", explicit: true, local: isLocalHost(e.host), problem: e.problem, recordedIn: recorded };
        }
      } catch {
        /* not recorded: derive it */
      }
    }
    const server = s.settings?.server;
    const host = server ? (isLocalHost(server.ip) ? "localhost" : server.ip) : "localhost";
    const port = server?.port ?? null;
    const url = `https://${isIP(host) === 6 ? `[${host}]` : host}${port !== null && port !== 443 ? `:${port}` : ""}`;
    return { url, host, source: "[server]", explicit: false, local: isLocalHost(host), problem: null };
  });
}

/** The TLS files of the settings, read and checked (key, chain order, dates; names separately). */
export interface TlsFacts {
  enabled: boolean;
  certFile?: string;
  keyFile?: string;
  certPem?: string;
  /** A file that could not be read: which key, which file, why. */
  readError?: { key: string; file: string; code: string };
  check?: ChainCheck;
}

/** Reads [tls] tls_cert_pem / tls_key_pem and runs platform/x509 checkChain on them. */
export function tlsFacts(run: DoctorRun): Promise<TlsFacts> {
  return run.once("tls", async () => {
    const settings = await requireSettings(run);
    if (!settings.security.is_tls_enabled || !settings.tls) return { enabled: false };
    const { tls_cert_pem: certFile, tls_key_pem: keyFile } = settings.tls;
    const read = (key: string, file: string): string | { key: string; file: string; code: string } => {
      try {
        return run.deps.readFile(path.resolve(run.deps.cwd, file));
      } catch (err) {
        return { key, file, code: (err as NodeJS.ErrnoException).code ?? "unreadable" };
      }
    };
    const certPem = read("tls_cert_pem", certFile);
    if (typeof certPem !== "string") return { enabled: true, certFile, keyFile, readError: certPem };
    const keyPem = read("tls_key_pem", keyFile);
    if (typeof keyPem !== "string") return { enabled: true, certFile, keyFile, certPem, readError: keyPem };
    const check = checkChain(certPem, { keyPem, now: new Date(run.deps.now()) });
    return { enabled: true, certFile, keyFile, certPem, check };
  });
}

/** The HSM opened from the settings (once per run, closed after the last check), or why it did not open. */
export interface HsmFacts {
  hsm?: Hsm;
  error?: unknown;
}

/** Opens the HSM as `serve` does (library, token, login, sessions). */
export function hsmFacts(run: DoctorRun): Promise<HsmFacts> {
  return run.once("hsm", async () => {
    const settings = await requireSettings(run);
    // openHsm (workflows/open-hsm.ts) applies [pkcs11] softhsm2_conf, as for `serve`.
    try {
      const hsm = await run.deps.openHsm(settings);
      run.onCleanup(() => hsm.close());
      return { hsm };
    } catch (err) {
      return { error: err };
    }
  });
}

/** Every AES/secret key on the token, read once. */
export function tokenKeys(run: DoctorRun): Promise<KeyInfo[]> {
  return run.once("token-keys", async () => {
    const { hsm, error } = await hsmFacts(run);
    if (!hsm) throw error;
    return hsm.listKeys();
  });
}

/** How doctor reaches the local proxy: the address, and the TLS trust for its certificate. */
export interface LocalProxyFacts {
  /** Address to connect to: [server] ip, 0.0.0.0 as 127.0.0.1 and :: as ::1. */
  host: string;
  port: number;
  pingPort: number;
  tls: boolean;
  /** e.g. https://127.0.0.1:8443 */
  baseUrl: string;
  /** CA certificates to trust (PEM), when the proxy's own chain is the trust anchor. */
  ca?: string;
  /** The name the certificate is checked against, when it is not the address. */
  servername?: string;
  /** How the certificate is trusted, for messages. */
  trustNote: string;
}

/** Connect address, TLS trust and name for the local proxy, from the settings and its TLS files. */
export function localProxyFacts(run: DoctorRun): Promise<LocalProxyFacts> {
  return run.once("local-proxy", async () => {
    const settings = await requireSettings(run);
    const ip = settings.server.ip;
    const host = ip === "0.0.0.0" ? "127.0.0.1" : ip === "::" ? "::1" : ip;
    const hostInUrl = isIP(host) === 6 ? `[${host}]` : host;
    const port = settings.server.port;
    const pingPort = settings.server.port_http_ping;
    if (!settings.security.is_tls_enabled) {
      return { host, port, pingPort, tls: false, baseUrl: `http://${hostInUrl}:${port}`, trustNote: "plain HTTP: TLS is off ([security] is_tls_enabled = false)" };
    }
    const t = await tlsFacts(run);
    const base = { host, port, pingPort, tls: true, baseUrl: `https://${hostInUrl}:${port}` };
    if (!t.certPem || !t.check?.leaf) return { ...base, trustNote: "TLS verified against Node.js's root store" };
    const root = chainRoot(t.certPem, run.deps.systemRoots());
    const endpoint = await endpointFacts(run);
    let servername: string | undefined;
    if (endpoint.explicit && !endpoint.problem && leafCovers(t.certPem, endpoint.host)) servername = endpoint.host;
    // The certificate does not cover the address doctor connects to: check it for its own first name.
    else if (!leafCovers(t.certPem, host)) servername = t.check.leaf.dnsNames.find((d) => !d.startsWith("*."));
    const named = servername ? ` for the name ${servername}` : "";
    if (!root || root.how !== "store") {
      const why = root?.how === "self-signed" ? (t.check.chain.length === 1 ? "a self-signed certificate" : "a private root") : "a root that is not in Node.js's store";
      return { ...base, ca: t.certPem, ...(servername ? { servername } : {}), trustNote: `TLS verified against the proxy's own ${t.certFile} (${why}, as for a local quickstart: KMS will not trust it)${named}` };
    }
    return { ...base, ...(servername ? { servername } : {}), trustNote: `TLS verified against Node.js's root store${named}` };
  });
}
