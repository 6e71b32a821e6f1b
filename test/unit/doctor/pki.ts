/**
 * Long-lived test certificates for the tls checks, from the test CA (test/helpers/ca.ts) in a temp
 * dir: a root (10 years), an intermediate (5 years) and leaves for given DNS names (1 year), so
 * that "valid" is a pass; expiry is tested by moving doctor's clock, not by backdating certificates.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { EC_KEY_ARGS as EC, createTestCa } from "../../helpers/ca.js";
import { tmpDir } from "./fixture.js";

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
  const ca = createTestCa({ dir: tmpDir("xksctl-doctor-pki-"), org: "xksctl doctor test", name: "doctor test", rootDays: 3650, intermediateDays: 1825 });
  return {
    dir: ca.dir,
    rootPem: ca.rootPem,
    rootSha256: ca.rootSha256,
    intermediatePem: ca.intermediatePem,
    leaf: (dns, ips = []) => ca.newLeaf(dns, { days: 365, ips }),
    files(name, chainPem, keyPem) {
      const cert = path.join(ca.dir, `${name}.pem`);
      const key = path.join(ca.dir, `${name}.key`);
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
