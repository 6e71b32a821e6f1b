/**
 * The proxy's TLS files for a public CA (AWS KMS trusts only public roots): a new private key
 * (0600) and a CSR whose subject CN and only subjectAltName are the endpoint's DNS name, and the
 * install of the CA's chain into the one file the settings name, checked against the key first.
 * openssl runs through platform/exec; the checks are platform/x509 (pure).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readSettingsDocument } from "../config/load.js";
import { XksctlError } from "../errors.js";
import { writeFileAtomic } from "../platform/atomic-write.js";
import { toolFailure, type Exec } from "../platform/exec.js";
import { ENDPOINT_RULE, assembleChain, checkChain, endpointNameProblem, parseChain, rootFingerprint, type CertInfo, type ChainCheck } from "../platform/x509.js";

/** The CSR file that belongs to a key file: same name, extension .csr. */
export function csrPathFor(keyFile: string): string {
  const ext = path.extname(keyFile);
  return `${ext === "" ? keyFile : keyFile.slice(0, -ext.length)}.csr`;
}

/** Where `tls csr` puts a new key while a working one is in use: `<name>.next<ext>`. */
function nextKeyPathFor(keyFile: string): string {
  const ext = path.extname(keyFile) || ".key";
  const base = path.extname(keyFile) === "" ? keyFile : keyFile.slice(0, -ext.length);
  return `${base}.next${ext}`;
}

/** Throws XKS_USAGE unless `name` is a DNS name KMS accepts as endpoint; the message shows `shown` (what was typed). */
export function assertEndpointName(name: string, flag = "--endpoint", shown = name): void {
  const why = endpointNameProblem(name);
  if (why !== null) throw new XksctlError("XKS_USAGE", `${flag} ${JSON.stringify(shown)} is not usable: ${why}.`, { remedy: `Give ${ENDPOINT_RULE}.` });
}

/** A new key and CSR, not yet written anywhere but a private temp folder (removed again). */
export interface KeyAndCsr {
  keyPem: string;
  csrPem: string;
  dnsName: string;
}

/** Makes a new EC P-256 private key and a CSR for `dnsName` (CN and the only DNS subjectAltName). */
export async function newKeyAndCsr(exec: Exec, dnsName: string): Promise<KeyAndCsr> {
  assertEndpointName(dnsName);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "xksctl-csr-"));
  try {
    fs.chmodSync(tmp, 0o700);
    const key = path.join(tmp, "key.pem");
    const csr = path.join(tmp, "req.csr");
    const r = await exec.run({
      tool: "openssl",
      args: ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${dnsName}`, "-addext", `subjectAltName=DNS:${dnsName}`],
      timeoutMs: 30_000,
    });
    if (r.exitCode !== 0) throw toolFailure(r, "openssl req");
    return { keyPem: fs.readFileSync(key, "utf8"), csrPem: fs.readFileSync(csr, "utf8"), dnsName };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The subject CN of a CSR file (the endpoint it was made for), or undefined. */
export async function csrCommonName(exec: Exec, csrFile: string): Promise<string | undefined> {
  if (!fs.existsSync(csrFile)) return undefined;
  const r = await exec.run({ tool: "openssl", args: ["req", "-in", csrFile, "-noout", "-subject", "-nameopt", "RFC2253"], timeoutMs: 30_000 });
  if (r.exitCode !== 0) return undefined;
  return /(?:^|[=,])CN=([^,\n]+)/.exec(r.stdout.replace(/^subject=/, ""))?.[1]?.trim();
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new XksctlError("XKS_FILE_READ", `Cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? "error"}).`);
  }
}

/** Reads and checks a chain file and its key file (for init's "existing certificate" branch). */
export function checkTlsFiles(certFile: string, keyFile: string, opts: { endpoint?: string; now: Date }): ChainCheck {
  const chain = readText(certFile, "the certificate chain");
  const key = readText(keyFile, "the private key");
  return checkChain(chain, { keyPem: key, now: opts.now, ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}) });
}

/** The [tls] file paths of a settings file, resolved as serve resolves them (against `cwd`). */
function tlsPaths(settingsFile: string, cwd: string): { certFile: string; keyFile: string; settingsFile: string } {
  const doc = readSettingsDocument(settingsFile);
  const tls = (doc.doc.tls ?? {}) as Record<string, unknown>;
  const cert = tls.tls_cert_pem;
  const key = tls.tls_key_pem;
  if (typeof cert !== "string" || cert === "" || typeof key !== "string" || key === "") {
    throw new XksctlError("XKS_CONFIG_INVALID", `${doc.file}: [tls] tls_cert_pem and tls_key_pem must name the files (got ${JSON.stringify(cert ?? null)} and ${JSON.stringify(key ?? null)}).`, {
      remedy: "Set both in [tls] (e.g. /etc/xksctl/tls/xks-proxy-chain.pem and /etc/xksctl/tls/xks-proxy.key), or run `xksctl init`.",
    });
  }
  return { certFile: path.resolve(cwd, cert), keyFile: path.resolve(cwd, key), settingsFile: doc.file };
}

/** The leaf of an installed chain when it belongs to the key beside it (a working pair). */
function workingLeaf(certFile: string, keyFile: string, now: Date): CertInfo | undefined {
  if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) return undefined;
  try {
    const r = checkChain(fs.readFileSync(certFile, "utf8"), { keyPem: fs.readFileSync(keyFile, "utf8"), now });
    return r.problems.some((p) => p.code === "key-mismatch" || p.code === "unparsable" || p.code === "no-certificate") ? undefined : r.leaf;
  } catch {
    return undefined;
  }
}

/** What `tls csr` wrote. */
export interface TlsCsrResult {
  settingsFile: string;
  endpoint: string;
  keyFile: string;
  csrFile: string;
  /** The key the settings name was replaced (no working chain used it); its backup. */
  keyBackup?: string;
  /** A working chain uses the current key, so the new key waits beside it for `tls install --key`. */
  staged: boolean;
  /** The `xksctl tls install` command to run with the CA's answer. */
  installCommand: string;
}

/** `tls csr`: a new key (0600) and CSR for the endpoint, next to the key the settings name. */
export async function createTlsCsr(exec: Exec, input: { settingsFile: string; endpoint?: string; cwd: string; now: Date }): Promise<TlsCsrResult> {
  const t = tlsPaths(input.settingsFile, input.cwd);
  const leaf = workingLeaf(t.certFile, t.keyFile, input.now);
  const endpoint = input.endpoint ?? leaf?.dnsNames[0] ?? (await csrCommonName(exec, csrPathFor(t.keyFile)));
  if (endpoint === undefined) {
    throw new XksctlError("XKS_USAGE", "--endpoint is needed: no installed certificate or earlier CSR names the endpoint.", { remedy: `Pass --endpoint with ${ENDPOINT_RULE}.` });
  }
  assertEndpointName(endpoint);
  const made = await newKeyAndCsr(exec, endpoint);
  const staged = leaf !== undefined;
  const keyFile = staged ? nextKeyPathFor(t.keyFile) : t.keyFile;
  const csrFile = csrPathFor(keyFile);
  fs.mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o750 });
  const k = writeFileAtomic(keyFile, made.keyPem, { secret: true });
  writeFileAtomic(csrFile, made.csrPem, { newFileMode: 0o644 });
  const installCommand = `xksctl tls install CHAIN.pem${staged ? ` --key ${keyFile}` : ""} --config ${t.settingsFile}`;
  return { settingsFile: t.settingsFile, endpoint, keyFile: k.file, csrFile, ...(k.backup && !staged ? { keyBackup: k.backup } : {}), staged, installCommand };
}

/** What `tls install` installed. */
export interface TlsInstallResult {
  settingsFile: string;
  certFile: string;
  keyFile: string;
  certBackup?: string;
  keyBackup?: string;
  chain: CertInfo[];
  rootFingerprint?: string;
  /** The name the leaf was checked against, and where it came from. */
  endpoint?: { name: string; from: "--endpoint" | "csr" | "installed certificate" };
  warnings: string[];
}

/**
 * `tls install`: joins the chain files (any order, leaf found by the key), checks it against
 * the key, the clock and the endpoint, and only when nothing fails writes it to tls_cert_pem
 * (and, with `keyFile`, that key to tls_key_pem). On any failure nothing is written.
 */
export async function installTlsChain(
  exec: Exec,
  input: { settingsFile: string; chainFiles: readonly string[]; keyFile?: string; endpoint?: string; cwd: string; now: Date },
): Promise<TlsInstallResult> {
  const t = tlsPaths(input.settingsFile, input.cwd);
  if (input.chainFiles.length === 0) throw new XksctlError("XKS_USAGE", "Name the chain file(s) the CA sent: xksctl tls install CHAIN.pem");
  const keyFile = input.keyFile ? path.resolve(input.cwd, input.keyFile) : t.keyFile;
  const keyPem = readText(keyFile, "the private key");
  const texts = input.chainFiles.map((f) => readText(path.resolve(input.cwd, f), "the certificate chain"));
  let assembled;
  try {
    assembled = assembleChain(texts, keyPem);
  } catch (err) {
    throw new XksctlError("XKS_TLS_FILES", `${input.chainFiles.join(", ")}: ${(err as Error).message}`, { remedy: "Pass the PEM files the CA sent (-----BEGIN CERTIFICATE----- blocks); nothing was changed.", cause: err });
  }
  let endpoint: TlsInstallResult["endpoint"];
  if (input.endpoint !== undefined) {
    assertEndpointName(input.endpoint);
    endpoint = { name: input.endpoint, from: "--endpoint" };
  } else {
    const cn = await csrCommonName(exec, csrPathFor(keyFile));
    const installed = workingLeaf(t.certFile, t.keyFile, input.now)?.dnsNames[0];
    if (cn !== undefined && endpointNameProblem(cn) === null) endpoint = { name: cn, from: "csr" };
    else if (installed !== undefined) endpoint = { name: installed, from: "installed certificate" };
  }
  const check = checkChain(assembled.pem, { keyPem, now: input.now, ...(endpoint ? { endpoint: endpoint.name } : {}) });
  const fails = check.problems.filter((p) => p.severity === "fail");
  if (fails.length > 0) {
    throw new XksctlError("XKS_TLS_FILES", `The chain does not fit ${keyFile}: ${fails.length} problem${fails.length === 1 ? "" : "s"}; nothing was changed.`, {
      details: fails.map((p) => `${p.code}: ${p.message}`),
      remedy: fails.some((p) => p.code === "key-mismatch")
        ? "Install the certificate issued for this key's CSR (or pass --key with the key the CSR was made with)."
        : "Ask the CA for the full chain (server certificate first, then its intermediates) for the endpoint's name.",
    });
  }
  const warnings = [
    ...check.problems.filter((p) => p.severity === "warn").map((p) => p.message),
    ...assembled.ignored.map((c) => `ignored a certificate that is not on the chain: ${c.subject}`),
    ...(endpoint ? [] : ["the endpoint name was not checked (no --endpoint, no CSR beside the key, no installed certificate)"]),
  ];
  fs.mkdirSync(path.dirname(t.certFile), { recursive: true, mode: 0o750 });
  const c = writeFileAtomic(t.certFile, assembled.pem, { newFileMode: 0o644 });
  let keyBackup: string | undefined;
  if (keyFile !== t.keyFile) keyBackup = writeFileAtomic(t.keyFile, keyPem, { secret: true }).backup;
  return {
    settingsFile: t.settingsFile,
    certFile: c.file,
    keyFile: t.keyFile,
    ...(c.backup ? { certBackup: c.backup } : {}),
    ...(keyBackup ? { keyBackup } : {}),
    chain: parseChain(assembled.pem),
    ...(rootFingerprint(check.chain) ? { rootFingerprint: rootFingerprint(check.chain)! } : {}),
    ...(endpoint ? { endpoint } : {}),
    warnings,
  };
}
