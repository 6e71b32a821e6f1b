/**
 * A self-signed TLS certificate for local use (quickstart, tests of a real deployment on a
 * laptop). Real KMS only trusts public CAs (xks-api.md §2): production needs a real certificate.
 */
import fs from "node:fs";
import path from "node:path";
import { toolFailure, type Exec } from "../platform/exec.js";

/** Creates `<dir>/cert.pem` and `<dir>/key.pem` (0600) for the given DNS names and IPs. */
export async function createSelfSignedTls(exec: Exec, dir: string, dnsNames: string[], ips: string[]): Promise<{ cert: string; key: string }> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  const san = [...dnsNames.map((d) => `DNS:${d}`), ...ips.map((i) => `IP:${i}`)].join(",");
  const r = await exec.run({
    tool: "openssl",
    args: ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "365", "-subj", `/CN=${dnsNames[0] ?? "localhost"}`, "-addext", `subjectAltName=${san}`],
    timeoutMs: 30_000,
  });
  if (r.exitCode !== 0) throw toolFailure(r, "openssl req");
  fs.chmodSync(key, 0o600);
  return { cert, key };
}
