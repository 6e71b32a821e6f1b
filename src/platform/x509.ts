/**
 * Checks of TLS files, as pure functions over PEM text: parse a certificate chain, check it
 * against its private key, the clock and the endpoint name KMS will use. No file system, no exec:
 * callers (init, `tls install`, doctor) read the files and decide what a problem means to them.
 *
 * Rules applied by checkChain (each becomes one TlsProblem):
 * - unparsable (fail): a CERTIFICATE block or the private key is not valid PEM/DER.
 * - no-certificate (fail): the text holds no CERTIFICATE block.
 * - key-mismatch (fail): the private key is not the leaf certificate's key.
 * - chain-order (fail): a certificate is not issued (name and signature) by the one after it.
 * - chain-incomplete (fail): the file holds only the server certificate and it is not
 *   self-signed: its issuer (an intermediate, public CAs never issue from the root) must follow it.
 *   A chain that ends at an intermediate CA is complete: clients add the root from their store.
 * - expired / not-yet-valid (fail): for any certificate of the chain at `now`.
 * - expires-soon (warn): a certificate of the chain ends within `warnDays` (default 30).
 * - not-a-dns-name (fail): `endpoint` is not what KMS accepts as XksProxyUriEndpoint host.
 * - name-mismatch (fail): the leaf's DNS subjectAltNames do not cover `endpoint` (leafCovers' rule:
 *   the CN is not used, as by TLS clients today; one wildcard label at most).
 */
import crypto, { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { XksctlError } from "../errors.js";

/** What a certificate says, in plain values. */
export interface CertInfo {
  /** Distinguished name on one line, e.g. "CN=xks.example.com, O=Example". */
  subject: string;
  issuer: string;
  /** subjectAltName DNS entries, in certificate order. */
  dnsNames: string[];
  /** subjectAltName IP entries, in certificate order. */
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER, hex, lower case, no colons. */
  fingerprint256: string;
  /** Issued by its own key (subject = issuer and the signature verifies with its own key). */
  selfSigned: boolean;
  /** basicConstraints CA:TRUE. */
  isCA: boolean;
}

/** The kinds of problem checkChain reports. */
export type TlsProblemCode =
  | "unparsable"
  | "no-certificate"
  | "key-mismatch"
  | "chain-order"
  | "chain-incomplete"
  | "expired"
  | "not-yet-valid"
  | "expires-soon"
  | "name-mismatch"
  | "not-a-dns-name";

/** One finding; "fail" makes the files unusable for KMS, "warn" needs attention soon. */
export interface TlsProblem {
  code: TlsProblemCode;
  severity: "fail" | "warn";
  /** One line. */
  message: string;
}

/** Options of checkChain. */
export interface CheckChainOptions {
  /** The private key (PEM, unencrypted) that should belong to the leaf. */
  keyPem?: string;
  now: Date;
  /** The DNS name KMS connects to (XksProxyUriEndpoint without https://). */
  endpoint?: string;
  /** Warn when a certificate ends within this many days. @default 30 */
  warnDays?: number;
}

/** What checkChain found. */
export interface ChainCheck {
  leaf?: CertInfo;
  chain: CertInfo[];
  problems: TlsProblem[];
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Longest host KMS accepts: XksProxyUriEndpoint is at most 128 characters including "https://". */
const ENDPOINT_MAX = 128 - "https://".length;

/** What the endpoint rule says in one line. */
export const ENDPOINT_RULE =
  "a fully qualified DNS name (labels of a-z A-Z 0-9 -, at least one dot, at most 120 characters), no scheme, port, path or IP address: KMS takes https://<name> on port 443";

/** Why `name` is not a host KMS accepts in XksProxyUriEndpoint, or null when it is. */
export function endpointNameProblem(name: string): string | null {
  if (name === "") return "it is empty";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(name)) return "it has a scheme (give the name only; KMS adds https://)";
  if (name.includes("/")) return "it has a path (the path prefix is a separate setting)";
  if (isIP(name.replace(/^\[(.*)\]$/, "$1")) !== 0 || /^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return "it is an IP address (KMS needs a DNS name)";
  if (name.includes(":")) return "it has a port (KMS only connects to port 443)";
  const host = name.endsWith(".") ? name.slice(0, -1) : name;
  if (host.length > ENDPOINT_MAX) return `it has ${host.length} characters (at most ${ENDPOINT_MAX})`;
  const bad = [...new Set([...host].filter((c) => !/[A-Za-z0-9.-]/.test(c)))];
  if (bad.length > 0) return `it contains ${bad.map((c) => JSON.stringify(c)).join(" ")}`;
  const labels = host.split(".");
  if (labels.length < 2) return "it is a single label, not a fully qualified name";
  for (const l of labels) {
    if (l === "") return "it has an empty label (two dots in a row, or a leading dot)";
    if (l.length > 63) return `the label "${l.slice(0, 20)}..." has ${l.length} characters (at most 63)`;
    if (l.startsWith("-") || l.endsWith("-")) return `the label "${l}" starts or ends with "-"`;
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? "")) return "its last label is numeric (not a DNS name)";
  return null;
}

/** What KMS accepts as XksProxyUriEndpoint: https:// + a DNS name as endpointNameProblem judges it, no port or path (a trailing "/" is no path). */
export function kmsEndpointUrlProblem(raw: string): { problem: string | null; host: string } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { problem: "it is not a URL (KMS takes https://<DNS name>)", host: raw };
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (u.protocol !== "https:") return { problem: `it is ${u.protocol.replace(/:$/, "")}://; KMS only connects with https://`, host };
  if (u.username || u.password) return { problem: "it carries a user name or password", host };
  if (/:\d+\/?$/.test(raw.replace(/^https:\/\//, ""))) return { problem: `it has a port (:${u.port || 443}); KMS only connects to port 443 and takes no port`, host };
  if ((u.pathname !== "/" && u.pathname !== "") || u.search || u.hash) return { problem: "it has a path; the path prefix is the key store's uri_path_prefix, not part of the endpoint", host };
  return { problem: endpointNameProblem(host), host };
}

/** Turns Node's multi-line distinguished name into "A=b, C=d". */
function oneLine(dn: string): string {
  return dn
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .join(", ");
}

/** Splits Node's subjectAltName text ("DNS:a, IP Address:1.2.3.4", values with "," quoted) into entries. */
function splitAltNames(text: string | undefined): Array<[string, string]> {
  if (!text) return [];
  const out: Array<[string, string]> = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(":", i);
    if (colon < 0) break;
    const kind = text.slice(i, colon).trim();
    let j = colon + 1;
    let value = "";
    if (text[j] === '"') {
      // JSON-style quoted value (Node quotes values with separators or unsafe characters).
      let k = j + 1;
      while (k < text.length && text[k] !== '"') k += text[k] === "\\" ? 2 : 1;
      try {
        value = JSON.parse(text.slice(j, k + 1)) as string;
      } catch {
        value = text.slice(j + 1, k);
      }
      j = k + 1;
    } else {
      const end = text.indexOf(", ", j);
      value = end < 0 ? text.slice(j) : text.slice(j, end);
      j = end < 0 ? text.length : end;
    }
    out.push([kind, value]);
    const sep = text.indexOf(", ", j);
    if (sep < 0) break;
    i = sep + 2;
  }
  return out;
}

function isSelfSigned(x: X509Certificate): boolean {
  try {
    return x.subject === x.issuer && x.checkIssued(x) && x.verify(x.publicKey);
  } catch {
    return false;
  }
}

function infoOf(x: X509Certificate): CertInfo {
  const alt = splitAltNames(x.subjectAltName);
  return {
    subject: oneLine(x.subject),
    issuer: oneLine(x.issuer),
    dnsNames: alt.filter(([k]) => k === "DNS").map(([, v]) => v),
    ipAddresses: alt.filter(([k]) => k === "IP Address").map(([, v]) => v),
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    fingerprint256: x.fingerprint256.replace(/:/g, "").toLowerCase(),
    selfSigned: isSelfSigned(x),
    isCA: x.ca,
  };
}

/** The certificates of a PEM text, in file order, with Node's objects. Throws XKS_TLS_FILES. */
function parseCerts(pem: string): Array<{ x: X509Certificate; info: CertInfo }> {
  const blocks = pem.match(CERT_BLOCK) ?? [];
  return blocks.map((block, i) => {
    let x: X509Certificate;
    try {
      x = new X509Certificate(block);
    } catch (err) {
      throw new XksctlError("XKS_TLS_FILES", `Certificate ${i + 1} of the chain is not a valid PEM certificate (${(err as Error).message}).`, { cause: err });
    }
    return { x, info: infoOf(x) };
  });
}

/**
 * The certificates of a PEM text in file order (leaf first in a server chain). Text without any
 * CERTIFICATE block gives []; a CERTIFICATE block that does not parse throws XKS_TLS_FILES.
 */
export function parseChain(pem: string): CertInfo[] {
  return parseCerts(pem).map((c) => c.info);
}

/** Node's checkHost options for a TLS client's rule: the CN is never used; a wildcard stands for one whole label. */
const HOST_MATCH = { subject: "never", wildcards: true, partialWildcards: false } as const;

/** Whether a certificate covers `name`: an IP address by its IP subjectAltNames, a host name by its DNS ones. */
function covers(x: X509Certificate, name: string): boolean {
  try {
    return (isIP(name) ? x.checkIP(name) : x.checkHost(name, HOST_MATCH)) !== undefined;
  } catch {
    return false;
  }
}

/** Whether the first certificate of a PEM chain (the leaf) covers `name`, by checkChain's rule; false without a certificate that parses. */
export function leafCovers(chainPem: string, name: string): boolean {
  let leaf: { x: X509Certificate } | undefined;
  try {
    leaf = parseCerts(chainPem)[0];
  } catch {
    return false;
  }
  return leaf !== undefined && covers(leaf.x, name);
}

/** The name used in messages: the CN when there is one, else the whole subject. */
function nameOf(c: CertInfo): string {
  const cn = /(?:^|, )CN=([^,]*)/.exec(c.subject);
  return cn?.[1] ? `"${cn[1]}"` : `"${c.subject}"`;
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Checks a chain (leaf first) against its key, the clock and the endpoint; never throws. */
export function checkChain(chainPem: string, opts: CheckChainOptions): ChainCheck {
  const problems: TlsProblem[] = [];
  const fail = (code: TlsProblemCode, message: string): void => void problems.push({ code, severity: "fail", message });
  const warn = (code: TlsProblemCode, message: string): void => void problems.push({ code, severity: "warn", message });

  let certs: Array<{ x: X509Certificate; info: CertInfo }>;
  try {
    certs = parseCerts(chainPem);
  } catch (err) {
    fail("unparsable", (err as Error).message);
    return { chain: [], problems };
  }
  if (certs.length === 0) {
    fail("no-certificate", "The file holds no PEM certificate (-----BEGIN CERTIFICATE-----).");
    return { chain: [], problems };
  }
  const chain = certs.map((c) => c.info);
  const leafX = certs[0]!.x;
  const leaf = chain[0]!;

  if (opts.keyPem !== undefined) {
    let key: crypto.KeyObject | undefined;
    try {
      key = crypto.createPrivateKey({ key: opts.keyPem, format: "pem" });
    } catch (err) {
      const msg = (err as Error).message;
      const why = /passphrase|encrypted/i.test(msg) || /ENCRYPTED/.test(opts.keyPem) ? "it is encrypted (the proxy needs an unencrypted key file, mode 0600)" : "it is not a PEM private key";
      fail("unparsable", `The private key cannot be read: ${why}.`);
    }
    if (key && !leafX.checkPrivateKey(key)) {
      fail("key-mismatch", `The private key does not belong to the server certificate ${nameOf(leaf)} (fingerprint ${leaf.fingerprint256.slice(0, 16)}...).`);
    }
  }

  for (let i = 0; i + 1 < certs.length; i++) {
    const child = certs[i]!;
    const parent = certs[i + 1]!;
    let ok = false;
    try {
      ok = child.x.checkIssued(parent.x) && child.x.verify(parent.x.publicKey);
    } catch {
      ok = false;
    }
    if (!ok) {
      const issuerAt = certs.findIndex((c, k) => k !== i && c.info.subject === child.info.issuer);
      const hint = issuerAt >= 0 ? ` (its issuer is certificate ${issuerAt + 1}: order the file leaf first, each certificate followed by its issuer)` : ` (it was issued by "${child.info.issuer}")`;
      fail("chain-order", `Certificate ${i + 2} ${nameOf(parent.info)} did not issue certificate ${i + 1} ${nameOf(child.info)}${hint}.`);
    }
  }

  if (certs.length === 1 && !leaf.selfSigned) {
    fail("chain-incomplete", `The file holds only the server certificate; its issuer "${leaf.issuer}" must follow it (append the CA's intermediate certificates).`);
  }

  const warnDays = opts.warnDays ?? 30;
  const now = opts.now.getTime();
  chain.forEach((c, i) => {
    const which = i === 0 ? `The server certificate ${nameOf(c)}` : `Certificate ${i + 1} ${nameOf(c)}`;
    if (now > c.notAfter.getTime()) fail("expired", `${which} expired on ${day(c.notAfter)}.`);
    else if (now < c.notBefore.getTime()) fail("not-yet-valid", `${which} is not valid before ${c.notBefore.toISOString()}.`);
    else if (c.notAfter.getTime() - now < warnDays * 86_400_000) {
      const days = Math.floor((c.notAfter.getTime() - now) / 86_400_000);
      warn("expires-soon", `${which} expires on ${day(c.notAfter)} (in ${days} day${days === 1 ? "" : "s"}).`);
    }
  });

  if (opts.endpoint !== undefined) {
    const why = endpointNameProblem(opts.endpoint);
    if (why !== null) {
      fail("not-a-dns-name", `The endpoint ${JSON.stringify(opts.endpoint)} is not a DNS name KMS accepts: ${why}.`);
    } else {
      const host = opts.endpoint.replace(/\.$/, "");
      if (!covers(leafX, host)) {
        const names = leaf.dnsNames.length > 0 ? `its DNS names are ${leaf.dnsNames.join(", ")}` : "it has no DNS subjectAltName (clients do not use the CN)";
        fail("name-mismatch", `The server certificate does not cover ${host}: ${names}.`);
      }
    }
  }

  return { leaf, chain, problems };
}

/** SHA-256 fingerprint (hex, lower case) of the top certificate of a chain; undefined for []. */
export function rootFingerprint(chain: CertInfo[]): string | undefined {
  return chain.length > 0 ? chain[chain.length - 1]!.fingerprint256 : undefined;
}

/** The root above a chain. */
export interface ChainRoot {
  /** "self-signed": the chain's top certificate is a root; "store": the top's issuer is one of the roots given; "unknown": neither. */
  how: "self-signed" | "store" | "unknown";
  fingerprint?: string;
  subject?: string;
  /** The top certificate of the chain (the root, or the last intermediate). */
  top: CertInfo;
}

/**
 * Finds the root above a chain (leaf first): its own top certificate when that is self-signed,
 * else the top's issuer (name and signature) among `roots` (PEM, e.g. Node.js's root store).
 * Undefined when the text holds no certificate or one does not parse.
 */
export function chainRoot(chainPem: string, roots: readonly string[]): ChainRoot | undefined {
  let top: { x: X509Certificate; info: CertInfo } | undefined;
  try {
    top = parseCerts(chainPem).at(-1);
  } catch {
    return undefined;
  }
  if (!top) return undefined;
  if (top.info.selfSigned) return { how: "self-signed", fingerprint: top.info.fingerprint256, subject: top.info.subject, top: top.info };
  for (const pem of roots) {
    let root: X509Certificate;
    try {
      root = new X509Certificate(pem);
    } catch {
      continue;
    }
    let issued = false;
    try {
      issued = top.x.checkIssued(root) && top.x.verify(root.publicKey);
    } catch {
      issued = false;
    }
    if (issued) {
      const r = infoOf(root);
      return { how: "store", fingerprint: r.fingerprint256, subject: r.subject, top: top.info };
    }
  }
  return { how: "unknown", top: top.info };
}

/** A chain put in order from loose certificates. */
export interface AssembledChain {
  /** The certificates leaf first, each followed by its issuer, as one PEM text. */
  pem: string;
  chain: CertInfo[];
  /** Certificates given that are not on the leaf's path (another chain, duplicates removed). */
  ignored: CertInfo[];
}

/**
 * Joins certificates from one or more PEM texts into one chain: the leaf (the certificate of
 * `keyPem` when given, else the first that is not a CA), then each certificate's issuer found
 * among the rest (name and signature), up to a self-signed root or the last issuer present.
 * Duplicates are dropped. Throws XKS_TLS_FILES when a CERTIFICATE block does not parse.
 */
export function assembleChain(pems: readonly string[], keyPem?: string): AssembledChain {
  const all: Array<{ x: X509Certificate; info: CertInfo }> = [];
  for (const text of pems) {
    for (const c of parseCerts(text)) if (!all.some((a) => a.info.fingerprint256 === c.info.fingerprint256)) all.push(c);
  }
  if (all.length === 0) return { pem: "", chain: [], ignored: [] };
  let key: crypto.KeyObject | undefined;
  if (keyPem !== undefined) {
    try {
      key = crypto.createPrivateKey({ key: keyPem, format: "pem" });
    } catch {
      key = undefined; // checkChain reports the unreadable key
    }
  }
  const leaf = (key && all.find((c) => c.x.checkPrivateKey(key))) ?? all.find((c) => !c.info.isCA) ?? all[0]!;
  const path = [leaf];
  const rest = all.filter((c) => c !== leaf);
  for (let cur = leaf; !cur.info.selfSigned; ) {
    const i = rest.findIndex((p) => {
      try {
        return cur.x.checkIssued(p.x) && cur.x.verify(p.x.publicKey);
      } catch {
        return false;
      }
    });
    if (i < 0) break;
    cur = rest.splice(i, 1)[0]!;
    path.push(cur);
  }
  return { pem: path.map((c) => c.x.toString().trimEnd() + "\n").join(""), chain: path.map((c) => c.info), ignored: rest.map((c) => c.info) };
}
