/**
 * The self-signed TLS pair init makes after the summary is confirmed, for local use (quickstart,
 * tests of a deployment on a laptop). Real KMS only trusts public CAs (xks-api.md §2): production
 * needs a real certificate.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { toolFailure, type Exec } from "../../platform/exec.js";

/** A self-signed certificate and its key for the given DNS names and IPs, made in a private temp folder (removed again). */
export async function selfSignedPair(exec: Exec, dnsNames: string[], ips: string[]): Promise<{ cert: string; key: string }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "xksctl-tls-"));
  try {
    fs.chmodSync(tmp, 0o700);
    const cert = path.join(tmp, "cert.pem");
    const key = path.join(tmp, "key.pem");
    const san = [...dnsNames.map((d) => `DNS:${d}`), ...ips.map((i) => `IP:${i}`)].join(",");
    const r = await exec.run({
      tool: "openssl",
      args: ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "365", "-subj", `/CN=${dnsNames[0] ?? "localhost"}`, "-addext", `subjectAltName=${san}`],
      timeoutMs: 30_000,
    });
    if (r.exitCode !== 0) throw toolFailure(r, "openssl req");
    return { cert: fs.readFileSync(cert, "utf8"), key: fs.readFileSync(key, "utf8") };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
