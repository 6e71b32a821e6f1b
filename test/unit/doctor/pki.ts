/**
 * Long-lived test certificates for the tls checks, made with the openssl CLI in a temp dir: a
 * root (10 years), an intermediate (5 years) and leaves for given DNS names (1 year), so that
 * "valid" is a pass; expiry is tested by moving doctor's clock, not by backdating certificates.
 */
import { X509Certificate } from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { tmpDir } from "./fixture.js";

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

export interface Pki {
  dir: string;
  rootPem: string;
  rootSha256: string;
  intermediatePem: string;
  /** A leaf signed by the intermediate: PEM of the leaf alone and its key. */
  leaf(dns: string[], ips?: string[]): { certPem: string; keyPem: string };
  /** Writes a chain and key into the dir; returns their paths. */
  files(name: string, chainPem: string, keyPem: string): { cert: string; key: string };
}

let n = 0;

export function createPki(): Pki {
  const dir = tmpDir("xksctl-doctor-pki-");
  const run = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  fs.writeFileSync(path.join(dir, "ca.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
  run(["req", "-x509", ...EC, "-keyout", "root.key", "-out", "root.pem", "-days", "3650", "-subj", "/O=xksctl doctor test/CN=doctor test root", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  run(["req", ...EC, "-keyout", "int.key", "-out", "int.csr", "-subj", "/O=xksctl doctor test/CN=doctor test intermediate"]);
  run(["x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "100", "-out", "int.pem", "-days", "1825", "-extfile", "ca.ext"]);
  const rootPem = fs.readFileSync(path.join(dir, "root.pem"), "utf8");
  return {
    dir,
    rootPem,
    rootSha256: new X509Certificate(rootPem).fingerprint256.replace(/:/g, "").toLowerCase(),
    intermediatePem: fs.readFileSync(path.join(dir, "int.pem"), "utf8"),
    leaf(dns, ips = []) {
      const i = n++;
      run(["req", ...EC, "-keyout", `l${i}.key`, "-out", `l${i}.csr`, "-subj", `/CN=${dns[0]}`]);
      const san = [...dns.map((d) => `DNS:${d}`), ...ips.map((x) => `IP:${x}`)].join(",");
      fs.writeFileSync(path.join(dir, `l${i}.ext`), `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
      run(["x509", "-req", "-in", `l${i}.csr`, "-CA", "int.pem", "-CAkey", "int.key", "-set_serial", String(1000 + i), "-out", `l${i}.pem`, "-days", "365", "-extfile", `l${i}.ext`]);
      return { certPem: fs.readFileSync(path.join(dir, `l${i}.pem`), "utf8"), keyPem: fs.readFileSync(path.join(dir, `l${i}.key`), "utf8") };
    },
    files(name, chainPem, keyPem) {
      const cert = path.join(dir, `${name}.pem`);
      const key = path.join(dir, `${name}.key`);
      fs.writeFileSync(cert, chainPem);
      fs.writeFileSync(key, keyPem, { mode: 0o600 });
      return { cert, key };
    },
  };
}

/** A self-signed certificate and key that names its host in the CN only (no subjectAltName), valid one year. */
export function cnOnly(dir: string, cn: string): { cert: string; key: string } {
  const i = n++;
  const cert = path.join(dir, `cn${i}.pem`);
  const key = path.join(dir, `cn${i}.key`);
  execFileSync("openssl", ["req", "-x509", ...EC, "-keyout", key, "-out", cert, "-days", "365", "-subj", `/CN=${cn}`], { stdio: "ignore" });
  return { cert, key };
}

/** A self-signed certificate and key for these names (the quickstart's kind), valid one year. */
export function selfSigned(dir: string, dns: string[], ips: string[] = []): { cert: string; key: string; certPem: string } {
  const i = n++;
  const cert = path.join(dir, `self${i}.pem`);
  const key = path.join(dir, `self${i}.key`);
  const san = [...dns.map((d) => `DNS:${d}`), ...ips.map((x) => `IP:${x}`)].join(",");
  execFileSync("openssl", ["req", "-x509", ...EC, "-keyout", key, "-out", cert, "-days", "365", "-subj", `/CN=${dns[0]}`, "-addext", `subjectAltName=${san}`], { stdio: "ignore" });
  return { cert, key, certPem: fs.readFileSync(cert, "utf8") };
}
