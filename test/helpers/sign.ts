/**
 * Clients that sign like KMS does: @smithy/signature-v4 (the AWS SDK's signer) over undici
 * (HTTP/2 or HTTP/1.1), and curl --aws-sigv4 in a subprocess. Our own signer is never used.
 */
import { execFile } from "node:child_process";
import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { Agent, request } from "undici";

/** A response as the client saw it. */
export interface WireResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body bytes exactly as received. */
  text: string;
  json: Record<string, unknown>;
}

/** Options of a signed request. */
export interface SignOptions {
  accessKeyId: string;
  secret: string;
  region?: string;
  service?: string;
  signingDate?: Date;
  /** Extra headers to send and sign. */
  headers?: Record<string, string>;
  /** Send this body instead of the one signed (tamper tests). */
  sendBody?: string;
}

/** undici dispatchers for each HTTP version, trusting the test CA. */
export function agents(ca?: string | Buffer, clientCert?: { cert: Buffer; key: Buffer }): { h2: Agent; h1: Agent } {
  const connect = { ca, rejectUnauthorized: Boolean(ca), ...clientCert };
  return { h2: new Agent({ allowH2: true, connect }), h1: new Agent({ allowH2: false, connect }) };
}

/** What smithySign signs besides the credentials. */
export interface SignRequestOptions extends Omit<SignOptions, "sendBody"> {
  /** Default POST. */
  method?: string;
  /** The query parameters, as signed (the URL's own query is not read). */
  query?: Record<string, string>;
  /** false: no x-amz-content-sha256 header (@smithy/signature-v4's applyChecksum; default true). */
  applyChecksum?: boolean;
  /** false: sign only host and `headers` (default: also content-type: application/json and the body's content-length). */
  contentHeaders?: boolean;
}

/**
 * Signs a request to `url` (its host and path) with @smithy/signature-v4 and returns the headers to
 * send, without host (undici sets host / :authority itself, from the URL).
 */
export async function smithySign(url: string, body: string | Buffer, opts: SignRequestOptions): Promise<Record<string, string>> {
  const u = new URL(url);
  const signer = new SignatureV4({
    service: opts.service ?? "kms-xks-proxy",
    region: opts.region ?? "us-east-1",
    credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secret },
    sha256: Sha256,
    ...(opts.applyChecksum === undefined ? {} : { applyChecksum: opts.applyChecksum }),
  });
  const content: Record<string, string> = opts.contentHeaders === false ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) };
  const signed = await signer.sign(
    new HttpRequest({
      method: opts.method ?? "POST",
      protocol: u.protocol,
      hostname: u.hostname,
      ...(u.port ? { port: Number(u.port) } : {}),
      path: u.pathname,
      ...(opts.query ? { query: opts.query } : {}),
      headers: { host: u.host, ...content, ...opts.headers },
      body,
    }),
    { signingDate: opts.signingDate },
  );
  const headers = { ...(signed.headers as Record<string, string>) };
  delete headers.host;
  return headers;
}

/** Signs with @smithy/signature-v4 and sends with undici. `url` is the full URL. */
export async function smithyPost(url: string, body: string | object, dispatcher: Agent, opts: SignOptions): Promise<WireResponse> {
  const payload = typeof body === "string" ? body : JSON.stringify(body);
  return send(url, "POST", await smithySign(url, payload, opts), opts.sendBody ?? payload, dispatcher);
}

/** Sends a request without signing. */
export async function send(url: string, method: string, headers: Record<string, string>, body: string | undefined, dispatcher: Agent): Promise<WireResponse> {
  const res = await request(url, { method: method as "POST", headers, body, dispatcher });
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** Signs and sends with curl --aws-sigv4 (curl signs content-type;host;x-amz-date). */
export function curlPost(
  url: string,
  body: string | object,
  opts: { accessKeyId: string; secret: string; http: "1.1" | "2"; cacert?: string; region?: string },
): Promise<WireResponse & { httpVersion: string }> {
  const payload = typeof body === "string" ? body : JSON.stringify(body);
  const args = [
    "-sS",
    opts.http === "2" ? "--http2" : "--http1.1",
    "--aws-sigv4",
    `aws:amz:${opts.region ?? "us-east-1"}:kms-xks-proxy`,
    "--user",
    `${opts.accessKeyId}:${opts.secret}`,
    "-H",
    "content-type: application/json",
    "--data-binary",
    "@-",
    "-w",
    "\n%{http_code} %{http_version}",
    ...(opts.cacert ? ["--cacert", opts.cacert] : []),
    url,
  ];
  return new Promise((resolve, reject) => {
    const child = execFile("curl", args, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl failed: ${stderr}`));
      const cut = stdout.lastIndexOf("\n");
      const text = stdout.slice(0, cut);
      const [status, httpVersion] = stdout.slice(cut + 1).split(" ");
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        /* not JSON */
      }
      resolve({ status: Number(status), headers: {}, text, json, httpVersion: httpVersion! });
    });
    child.stdin!.end(payload);
  });
}
