/**
 * Test-only TLS material made with the openssl CLI in a temp dir: a CA, a server certificate
 * for localhost/127.0.0.1, and client certificates for mTLS (one with the expected DNS name,
 * one with another). Never committed; generated on each run.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { tempDir } from "./tmp.js";

/** Paths of the generated files. */
export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  wrongClientCert: string;
  wrongClientKey: string;
}

export const MTLS_DNS_NAME = "cks.kms.us-east-1.amazonaws.com";

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "ignore" });
}

function leaf(dir: string, name: string, subject: string, san: string, ext: string): void {
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
  fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${ext}\n`);
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`], dir);
}

/** Generates a CA, server and client certificates. */
export function createTestPki(): TestPki {
  const dir = tempDir("xksctl-pki-");
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=xksctl test CA"], dir);
  leaf(dir, "server", "/CN=localhost", "DNS:localhost,IP:127.0.0.1", "serverAuth");
  leaf(dir, "client", `/CN=${MTLS_DNS_NAME}`, `DNS:${MTLS_DNS_NAME}`, "clientAuth");
  leaf(dir, "wrong", "/CN=someone.example.com", "DNS:someone.example.com", "clientAuth");
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    caCert: p("ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
    wrongClientCert: p("wrong.pem"),
    wrongClientKey: p("wrong.key"),
  };
}
