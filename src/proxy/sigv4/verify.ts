/**
 * Verifies a SigV4-signed request as KMS, curl --aws-sigv4 and @smithy/signature-v4 send it
 * (xks-api.md §8.1): the request's own SignedHeaders, `host` taken from `:authority` over HTTP/2,
 * the body hashed by us, ±5 minutes, constant-time comparison. Every failure is one reason string
 * for our log; the caller answers 401 AuthenticationFailedException.
 */
import { timingSafeEqual } from "node:crypto";
import type { Credential } from "../../config/types.js";
import { parseAuthorization } from "./parse-authorization.js";
import { canonicalHeaderValue, canonicalRequest, normalizedPath, sha256Hex, stringToSign } from "./canonical.js";
import { SigningKeyCache, signature } from "./signing-key.js";

/** Allowed clock skew, ms (spec: SHOULD be enforced; the reference does). */
export const MAX_SKEW_MS = 5 * 60 * 1000;

/** What the verifier needs to know about the request. */
export interface SignedRequest {
  method: string;
  /** The path exactly as received, without the query. */
  path: string;
  query: string;
  /** Lower-case header names; HTTP/2 pseudo-headers included (`:authority`). */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Verification settings. */
export interface VerifyOptions {
  region: string;
  service: string;
  /** Credentials accepted for the key store the path routes to. */
  credentials: readonly Credential[];
  now: number;
}

/** Result: ok, or the reason (for the log only). */
export type VerifyResult = { ok: true; accessKeyId: string } | { ok: false; reason: string };

const keys = new SigningKeyCache();

/** Parses `YYYYMMDDTHHMMSSZ` to ms since the epoch. */
function parseAmzDate(v: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  if (!m) return undefined;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(t) ? undefined : t;
}

function header(req: SignedRequest, name: string): string | string[] | undefined {
  if (name === "host") return req.headers.host ?? req.headers[":authority"];
  return req.headers[name];
}

/** Verifies the request's SigV4 signature against the store's credentials. */
export function verifySigV4(req: SignedRequest, opts: VerifyOptions): VerifyResult {
  const rawAuth = req.headers.authorization;
  const auth = parseAuthorization(Array.isArray(rawAuth) ? rawAuth[0] : rawAuth);
  if (!auth) return { ok: false, reason: "missing or malformed Authorization header" };
  const cred = opts.credentials.find((c) => c.accessKeyId === auth.accessKeyId);
  if (!cred) return { ok: false, reason: "unknown access key id" };
  if (auth.region !== opts.region) return { ok: false, reason: `credential scope region ${JSON.stringify(auth.region)} is not ${opts.region}` };
  if (auth.service !== opts.service) return { ok: false, reason: `credential scope service ${JSON.stringify(auth.service)} is not ${opts.service}` };
  if (auth.terminator !== "aws4_request") return { ok: false, reason: "credential scope does not end in aws4_request" };
  if (!auth.signedHeaders.includes("host") || !auth.signedHeaders.includes("x-amz-date")) {
    return { ok: false, reason: "SignedHeaders must include host and x-amz-date" };
  }
  const amzDate = canonicalHeaderValue(header(req, "x-amz-date") ?? "");
  const t = parseAmzDate(amzDate);
  if (t === undefined) return { ok: false, reason: "missing or malformed X-Amz-Date" };
  if (Math.abs(opts.now - t) > MAX_SKEW_MS) return { ok: false, reason: "X-Amz-Date is more than 5 minutes from the proxy's clock" };
  if (auth.date !== amzDate.slice(0, 8)) return { ok: false, reason: "credential scope date does not match X-Amz-Date" };

  const payloadHash = sha256Hex(req.body);
  const claimed = header(req, "x-amz-content-sha256");
  if (claimed !== undefined && canonicalHeaderValue(claimed) !== payloadHash) {
    return { ok: false, reason: "x-amz-content-sha256 does not match the body" };
  }
  const sorted = [...auth.signedHeaders].sort();
  const canonicalHeaders: [string, string][] = [];
  for (const name of sorted) {
    const v = header(req, name);
    if (v === undefined) return { ok: false, reason: `signed header ${name} is missing` };
    canonicalHeaders.push([name, canonicalHeaderValue(v)]);
  }
  const signedList = sorted.join(";");
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const signingKey = keys.get(cred.secretAccessKey, auth.date, auth.region, auth.service);
  // parseAuthorization accepted exactly 64 lower-case hex digits: 32 bytes, compared in constant time.
  const claimedSignature = Buffer.from(auth.signature, "hex");
  const matches = (p: string) =>
    timingSafeEqual(signature(signingKey, stringToSign(amzDate, scope, canonicalRequest(req.method, p, req.query, canonicalHeaders, signedList, payloadHash))), claimedSignature);
  // The raw path first (curl, KMS); the normalised form only when that fails (smithy, §8.1).
  if (matches(req.path)) return { ok: true, accessKeyId: cred.accessKeyId };
  let norm: string | undefined;
  try {
    norm = normalizedPath(req.path);
  } catch {
    /* undecodable path: only the raw form could match */
  }
  if (norm !== undefined && norm !== req.path && matches(norm)) return { ok: true, accessKeyId: cred.accessKeyId };
  return { ok: false, reason: "signature does not match" };
}
