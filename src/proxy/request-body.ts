/**
 * Checks of the JSON request bodies (xks-api.md §4, §5): required fields, types, strict standard
 * Base64, algorithm names, IV/tag/metadata lengths. Every failure is a 400 ValidationException
 * naming the field; unknown fields are ignored as the spec requires.
 */
import { XksError } from "./errors.js";
import type { Operation } from "./router.js";

type Json = Record<string, unknown>;

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function invalid(message: string): never {
  throw new XksError("ValidationException", message);
}

/** Parses the body as a JSON object. */
export function parseJsonBody(body: Buffer): Json {
  let v: unknown;
  try {
    v = JSON.parse(body.toString("utf8"));
  } catch {
    invalid("the request body is not valid JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) invalid("the request body must be a JSON object");
  return v as Json;
}

/** A required or optional string field. */
function str(o: Json, field: string, where: string, required: true): string;
function str(o: Json, field: string, where: string, required: false): string | undefined;
function str(o: Json, field: string, where: string, required: boolean): string | undefined {
  const v = o[field];
  if (v === undefined || v === null) {
    if (required) invalid(`${where}${field} is required`);
    return undefined;
  }
  if (typeof v !== "string") invalid(`${where}${field} must be a string`);
  return v;
}

/** Decodes strict standard Base64 (RFC 4648 §4). */
export function decodeB64(field: string, v: string): Buffer {
  if (!B64_RE.test(v)) invalid(`${field} is not valid standard Base64`);
  return Buffer.from(v, "base64");
}

/** Fields of requestMetadata the proxy logs. */
export interface RequestMetadata {
  kmsRequestId: string;
  kmsOperation: string;
  awsPrincipalArn?: string;
  kmsKeyArn?: string;
}

/** Checks requestMetadata for an operation; unknown fields and kmsOperation values are accepted. */
export function checkMetadata(body: Json, op: Operation): RequestMetadata {
  const m = body.requestMetadata;
  if (typeof m !== "object" || m === null || Array.isArray(m)) invalid("requestMetadata is required and must be an object");
  const md = m as Json;
  const w = "requestMetadata.";
  const out: RequestMetadata = { kmsRequestId: str(md, "kmsRequestId", w, true), kmsOperation: str(md, "kmsOperation", w, true) };
  if (op !== "GetHealthStatus") out.awsPrincipalArn = str(md, "awsPrincipalArn", w, true);
  if (op === "Encrypt" || op === "Decrypt") out.kmsKeyArn = str(md, "kmsKeyArn", w, true);
  for (const f of ["awsSourceVpc", "awsSourceVpce", "kmsViaService"]) str(md, f, w, false);
  return out;
}

/** A checked Encrypt request (Base64 still encoded: size limits come after the key checks). */
export interface EncryptRequest {
  plaintextB64: string;
  aadB64?: string;
  cdivAlgorithm?: "SHA_256";
}

/** A checked Decrypt request. */
export interface DecryptRequest {
  ciphertextB64: string;
  iv: Buffer;
  tag: Buffer;
  aadB64?: string;
  metadata?: Buffer;
}

function algorithm(body: Json): void {
  if (str(body, "encryptionAlgorithm", "", true) !== "AES_GCM") invalid("encryptionAlgorithm must be AES_GCM");
}

/** Checks an Encrypt body. */
export function checkEncrypt(body: Json): EncryptRequest {
  const plaintextB64 = str(body, "plaintext", "", true);
  algorithm(body);
  const aadB64 = str(body, "additionalAuthenticatedData", "", false);
  const alg = str(body, "ciphertextDataIntegrityValueAlgorithm", "", false);
  if (alg !== undefined && alg !== "SHA_256") invalid("ciphertextDataIntegrityValueAlgorithm must be SHA_256");
  if (!B64_RE.test(plaintextB64)) invalid("plaintext is not valid standard Base64");
  if (aadB64 !== undefined && !B64_RE.test(aadB64)) invalid("additionalAuthenticatedData is not valid standard Base64");
  return { plaintextB64, aadB64, cdivAlgorithm: alg as "SHA_256" | undefined };
}

/** Checks a Decrypt body. */
export function checkDecrypt(body: Json): DecryptRequest {
  const ciphertextB64 = str(body, "ciphertext", "", true);
  algorithm(body);
  const iv = decodeB64("initializationVector", str(body, "initializationVector", "", true));
  if (iv.length !== 12 && iv.length !== 16) invalid("initializationVector must be 12 or 16 bytes");
  const tag = decodeB64("authenticationTag", str(body, "authenticationTag", "", true));
  if (tag.length !== 16) invalid("authenticationTag must be 16 bytes");
  const aadB64 = str(body, "additionalAuthenticatedData", "", false);
  if (aadB64 !== undefined && !B64_RE.test(aadB64)) invalid("additionalAuthenticatedData is not valid standard Base64");
  if (!B64_RE.test(ciphertextB64)) invalid("ciphertext is not valid standard Base64");
  const cmB64 = str(body, "ciphertextMetadata", "", false);
  const metadata = cmB64 === undefined ? undefined : decodeB64("ciphertextMetadata", cmB64);
  if (metadata && metadata.length > 20) invalid("ciphertextMetadata must be at most 20 bytes");
  return { ciphertextB64, iv, tag, aadB64, metadata };
}
