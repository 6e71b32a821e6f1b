/**
 * The SigV4 canonical request and string to sign (AWS SigV4 spec, "Create a canonical request").
 * Pure functions; the body hash is always computed by us from the received bytes.
 */
import { hash } from "node:crypto";

/** Hex SHA-256 (one-shot: no Hash object per call; this runs twice per request). */
export function sha256Hex(data: Buffer | string): string {
  return hash("sha256", data, "hex");
}

/** Whitespace SigV4 folds: a run of two, or any but the plain space. */
const FOLDABLE = /\s\s|[^\S ]/;

/** Trims a header value and folds inner runs of spaces, as SigV4 requires. */
export function canonicalHeaderValue(v: string | string[]): string {
  const joined = (Array.isArray(v) ? v.map((x) => x.trim()).join(",") : v).trim();
  return FOLDABLE.test(joined) ? joined.replace(/\s+/g, " ") : joined;
}

/** RFC 3986 encoding as SigV4 wants it (unreserved kept, everything else %XX upper-case). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** decodeURIComponent that never throws: a malformed escape (`%zz`) stays as it is. */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Canonical query string: pairs sorted by key then value, each part URI-encoded. The proxy refuses
 * XKS requests with a query before SigV4 (src/proxy/server.ts); this stays total for other callers.
 */
export function canonicalQuery(query: string): string {
  if (!query) return "";
  return query
    .split("&")
    .filter((p) => p !== "")
    .map((p) => {
      const eq = p.indexOf("=");
      const k = safeDecode(eq < 0 ? p : p.slice(0, eq));
      const v = eq < 0 ? "" : safeDecode(p.slice(eq + 1));
      return [uriEncode(k), uriEncode(v)] as const;
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/** The path as @smithy/signature-v4 normalises it: no empty or `.` segments, `..` resolved, segments encoded. */
export function normalizedPath(path: string): string {
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(uriEncode(decodeURIComponent(seg)));
  }
  return `/${out.join("/")}${path.endsWith("/") && out.length > 0 ? "/" : ""}`;
}

/** Builds the canonical request text. */
export function canonicalRequest(method: string, path: string, query: string, headers: [string, string][], signedHeaders: string, payloadHash: string): string {
  return [method, path, canonicalQuery(query), ...headers.map(([k, v]) => `${k}:${v}`), "", signedHeaders, payloadHash].join("\n");
}

/** Builds the string to sign. */
export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonical)].join("\n");
}
