/**
 * A test certificate authority made with the openssl CLI in a temp dir: a root, an intermediate
 * (what a public CA signs server certificates with), and helpers to sign a CSR or make a fresh
 * key + server certificate for a DNS name. Generated on each run, never committed.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { tempDir } from "./tmp.js";

function openssl(args: string[], cwd: string): string {
  return execFileSync("openssl", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** openssl req arguments for a new P-256 key without a passphrase. */
export const EC_KEY_ARGS = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A root and an intermediate CA in `dir`. */
export interface TestCa {
  dir: string;
  rootPem: string;
  /** The root's SHA-256 fingerprint, lower-case hex without colons (as AWS lists trusted roots). */
  rootSha256: string;
  intermediatePem: string;
  /** Signs a CSR file with the intermediate; returns the leaf PEM. */
  signCsr(csrFile: string, opts?: { dns?: string[]; days?: number }): string;
  /** A new EC key and a leaf for these DNS names (and IP addresses), signed by the intermediate. */
  newLeaf(dns: string[], opts?: { days?: number; ips?: string[] }): { certPem: string; keyPem: string };
  /** A new self-signed certificate and key for these DNS names. */
  selfSigned(dns: string[]): { certPem: string; keyPem: string };
}

let serial = 1;

/**
 * Where and how long: the defaults make "O=xksctl test, CN=xksctl test root" (400 days) and its
 * intermediate (300 days) in a new temp dir.
 */
export interface TestCaOptions {
  dir?: string;
  /** The subjects are "O=<org>, CN=<name> root" and "... intermediate". */
  org?: string;
  name?: string;
  rootDays?: number;
  intermediateDays?: number;
}

/** Makes a root and an intermediate CA. */
export function createTestCa(o: TestCaOptions = {}): TestCa {
  const dir = o.dir ?? tempDir("xksctl-ca-");
  const org = o.org ?? "xksctl test";
  const name = o.name ?? "xksctl test";
  const p = (f: string): string => path.join(dir, f);
  fs.writeFileSync(p("ca.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
  openssl(["req", "-x509", ...EC_KEY_ARGS, "-keyout", "root.key", "-out", "root.pem", "-days", String(o.rootDays ?? 400), "-subj", `/O=${org}/CN=${name} root`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  openssl(["req", ...EC_KEY_ARGS, "-keyout", "int.key", "-out", "int.csr", "-subj", `/O=${org}/CN=${name} intermediate`], dir);
  openssl(["x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", String(1000 + serial++), "-out", "int.pem", "-days", String(o.intermediateDays ?? 300), "-extfile", "ca.ext"], dir);
  const sign = (csrFile: string, dns: string[] | undefined, days: number, ips: string[] = []): string => {
    const n = serial++;
    const ext = p(`leaf${n}.ext`);
    const san = dns && [...dns.map((d) => `DNS:${d}`), ...ips.map((x) => `IP:${x}`)].join(",");
    fs.writeFileSync(ext, `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n${san ? `subjectAltName=${san}\n` : ""}`);
    const out = p(`leaf${n}.pem`);
    const args = ["x509", "-req", "-in", csrFile, "-CA", "int.pem", "-CAkey", "int.key", "-set_serial", String(5000 + n), "-out", out, "-days", String(days), "-extfile", ext];
    // Without --dns the CSR's own subjectAltName is copied (what a CA does after validating it).
    if (!dns) args.push("-copy_extensions", "copyall");
    openssl(args, dir);
    return fs.readFileSync(out, "utf8");
  };
  const rootPem = fs.readFileSync(p("root.pem"), "utf8");
  return {
    dir,
    rootPem,
    rootSha256: new X509Certificate(rootPem).fingerprint256.replace(/:/g, "").toLowerCase(),
    intermediatePem: fs.readFileSync(p("int.pem"), "utf8"),
    signCsr: (csrFile, opts = {}) => sign(csrFile, opts.dns, opts.days ?? 90),
    newLeaf(dns, opts = {}) {
      const n = serial++;
      openssl(["req", ...EC_KEY_ARGS, "-keyout", `k${n}.key`, "-out", `k${n}.csr`, "-subj", `/CN=${dns[0]}`], dir);
      return { certPem: sign(p(`k${n}.csr`), dns, opts.days ?? 90, opts.ips), keyPem: fs.readFileSync(p(`k${n}.key`), "utf8") };
    },
    selfSigned(dns) {
      const n = serial++;
      openssl(["req", "-x509", ...EC_KEY_ARGS, "-keyout", `s${n}.key`, "-out", `s${n}.pem`, "-days", "90", "-subj", `/CN=${dns[0]}`, "-addext", `subjectAltName=${dns.map((d) => `DNS:${d}`).join(",")}`], dir);
      return { certPem: fs.readFileSync(p(`s${n}.pem`), "utf8"), keyPem: fs.readFileSync(p(`s${n}.key`), "utf8") };
    },
  };
}
