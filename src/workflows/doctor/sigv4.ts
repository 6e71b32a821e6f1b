/**
 * Signs requests as AWS KMS signs its calls to an XKS proxy (XKS API §8.1): SigV4 with service
 * kms-xks-proxy, the key store's region and credential, SignedHeaders host;x-amz-date, the body
 * hashed. Built on the proxy's own canonical-request and signing-key modules; a test checks it
 * against @smithy/signature-v4 (the AWS SDK's signer).
 */
import { canonicalRequest, sha256Hex, stringToSign } from "../../proxy/sigv4/canonical.js";
import { SigningKeyCache, signature } from "../../proxy/sigv4/signing-key.js";

/** The service name KMS signs with, whatever the proxy's settings say. */
export const KMS_SIGV4_SERVICE = "kms-xks-proxy";

const keys = new SigningKeyCache();

/** `YYYYMMDDTHHMMSSZ` for a time in ms. */
export function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
}

/** What to sign. */
export interface SignInput {
  method: "POST" | "GET";
  url: string;
  body: string;
  accessKeyId: string;
  secret: string;
  region: string;
  service?: string;
  /** Signing time, ms since the epoch. */
  now: number;
}

/** The headers to send: x-amz-date and authorization (host / :authority is set by the client from the URL). */
export function signKmsRequest(input: SignInput): Record<string, string> {
  const u = new URL(input.url);
  const date = amzDate(input.now);
  const day = date.slice(0, 8);
  const service = input.service ?? KMS_SIGV4_SERVICE;
  const headers: [string, string][] = [
    ["host", u.host],
    ["x-amz-date", date],
  ];
  const signed = headers.map(([k]) => k).join(";");
  const canonical = canonicalRequest(input.method, u.pathname, u.search.replace(/^\?/, ""), headers, signed, sha256Hex(input.body));
  const scope = `${day}/${input.region}/${service}/aws4_request`;
  const sig = signature(keys.get(input.secret, day, input.region, service), stringToSign(date, scope, canonical)).toString("hex");
  return {
    "x-amz-date": date,
    authorization: `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${sig}`,
  };
}
