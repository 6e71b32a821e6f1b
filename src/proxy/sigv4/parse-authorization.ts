/** Parses a SigV4 Authorization header (xks-api.md §8.1). Returns undefined when malformed. */

/** The parts of `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. */
export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

const ALGORITHM = "AWS4-HMAC-SHA256";

/** Parses the header value; tolerant of spacing after commas, strict about the parts. */
export function parseAuthorization(raw: string | undefined): ParsedAuthorization | undefined {
  if (!raw || !raw.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of raw.slice(ALGORITHM.length + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) return undefined;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get("Credential");
  const signed = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (!credential || !signed || !signature || !/^[0-9a-f]{64}$/.test(signature)) return undefined;
  const scope = credential.split("/");
  if (scope.length !== 5 || scope.some((s) => s === "")) return undefined;
  const [accessKeyId, date, region, service, terminator] = scope as [string, string, string, string, string];
  const signedHeaders = signed.split(";");
  if (signedHeaders.some((h) => h === "" || h !== h.toLowerCase())) return undefined;
  return { accessKeyId, date, region, service, terminator, signedHeaders, signature };
}
