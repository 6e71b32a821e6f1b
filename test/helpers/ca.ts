/**
 * A test certificate authority made with the openssl CLI in a temp dir: a root, an intermediate
 * (what a public CA signs server certificates with), and helpers to sign a CSR or make a fresh
 * key + server certificate for a DNS name. Generated on each run, never committed.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

function openssl(args: string[], cwd: string): string {
  return execFileSync("openssl", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A root and an intermediate CA in `dir`. */
export interface TestCa {
  dir: string;
  rootPem: string;
  intermediatePem: string;
  /** Signs a CSR file with the intermediate; returns the leaf PEM. */
  signCsr(csrFile: string, opts?: { dns?: string[]; days?: number }): string;
  /** A new EC key and a leaf for these DNS names, signed by the intermediate. */
  newLeaf(dns: string[], opts?: { days?: number }): { certPem: string; keyPem: string };
  /** A new self-signed certificate and key for these DNS names. */
  selfSigned(dns: string[]): { certPem: string; keyPem: string };
}

let serial = 1;

/** Makes a root and an intermediate CA. */
export function createTestCa(): TestCa {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xksctl-ca-"));
  const p = (f: string): string => path.join(dir, f);
  fs.writeFileSync(p("ca.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
  openssl(["req", "-x509", ...EC, "-keyout", "root.key", "-out", "root.pem", "-days", "400", "-subj", "/O=xksctl test/CN=xksctl test root", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  openssl(["req", ...EC, "-keyout", "int.key", "-out", "int.csr", "-subj", "/O=xksctl test/CN=xksctl test intermediate"], dir);
  openssl(["x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", String(1000 + serial++), "-out", "int.pem", "-days", "300", "-extfile", "ca.ext"], dir);
  const sign = (csrFile: string, dns: string[] | undefined, days: number): string => {
    const n = serial++;
    const ext = p(`leaf${n}.ext`);
    fs.writeFileSync(ext, `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n${dns ? `subjectAltName=${dns.map((d) => `DNS:${d}`).join(",")}\n` : ""}`);
    const out = p(`leaf${n}.pem`);
    const args = ["x509", "-req", "-in", csrFile, "-CA", "int.pem", "-CAkey", "int.key", "-set_serial", String(5000 + n), "-out", out, "-days", String(days), "-extfile", ext];
    // Without --dns the CSR's own subjectAltName is copied (what a CA does after validating it).
    if (!dns) args.push("-copy_extensions", "copyall");
    openssl(args, dir);
    return fs.readFileSync(out, "utf8");
  };
  return {
    dir,
    rootPem: fs.readFileSync(p("root.pem"), "utf8"),
    intermediatePem: fs.readFileSync(p("int.pem"), "utf8"),
    signCsr: (csrFile, opts = {}) => sign(csrFile, opts.dns, opts.days ?? 90),
    newLeaf(dns, opts = {}) {
      const n = serial++;
      openssl(["req", ...EC, "-keyout", `k${n}.key`, "-out", `k${n}.csr`, "-subj", `/CN=${dns[0]}`], dir);
      return { certPem: sign(p(`k${n}.csr`), dns, opts.days ?? 90), keyPem: fs.readFileSync(p(`k${n}.key`), "utf8") };
    },
    selfSigned(dns) {
      const n = serial++;
      openssl(["req", "-x509", ...EC, "-keyout", `s${n}.key`, "-out", `s${n}.pem`, "-days", "90", "-subj", `/CN=${dns[0]}`, "-addext", `subjectAltName=${dns.map((d) => `DNS:${d}`).join(",")}`], dir);
      return { certPem: fs.readFileSync(p(`s${n}.pem`), "utf8"), keyPem: fs.readFileSync(p(`s${n}.key`), "utf8") };
    },
  };
}
