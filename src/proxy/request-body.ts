/**
 * Checks of the JSON request bodies (xks-api.md §4, §5): required fields, types, strict standard
 * Base64, algorithm names, non-empty plaintext and ciphertext, IV/tag/metadata lengths. Every
 * failure is a 400 ValidationException naming the field (src/proxy/errors.ts holds the texts);
 * unknown fields are ignored as the spec requires.
 */
import { XksError, fieldError, type BodyField, type FieldSituation, type Situation } from "./errors.js";
import type { Operation } from "./router.js";

type Json = Record<string, unknown>;

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function invalid(situation: Situation): never {
  throw new XksError(situation);
}

function invalidField(situation: FieldSituation, field: BodyField): never {
  throw fieldError(situation, field);
}

/** Parses the body as a JSON object. */
export function parseJsonBody(body: Buffer): Json {
  let v: unknown;
  try {
    v = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new XksError("notJson", { detail: (err as Error).message.slice(0, 200) });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) invalid("notObject");
  return v as Json;
}

/** A required or optional string field; `name` is how errorMessage names it. */
function str(o: Json, key: string, name: BodyField, required: true): string;
function str(o: Json, key: string, name: BodyField, required: false): string | undefined;
function str(o: Json, key: string, name: BodyField, required: boolean): string | undefined {
  const v = Object.hasOwn(o, key) ? o[key] : undefined;
  if (v === undefined || v === null) {
    if (required) invalidField("fieldRequired", name);
    return undefined;
  }
  if (typeof v !== "string") invalidField("fieldNotString", name);
  return v;
}

/** Decodes strict standard Base64 (RFC 4648 §4). */
export function decodeB64(field: BodyField, v: string): Buffer {
  if (!B64_RE.test(v)) invalidField("fieldNotBase64", field);
  return Buffer.from(v, "base64");
}

/** Fields of requestMetadata the proxy logs. */
export interface RequestMetadata {
  kmsRequestId: string;
  kmsOperation: string;
  awsPrincipalArn?: string;
  kmsKeyArn?: string;
  awsSourceVpc?: string;
  awsSourceVpce?: string;
  kmsViaService?: string;
}

/** Checks requestMetadata for an operation; unknown fields and kmsOperation values are accepted. */
export function checkMetadata(body: Json, op: Operation): RequestMetadata {
  const m = Object.hasOwn(body, "requestMetadata") ? body.requestMetadata : undefined;
  if (m === undefined || m === null) invalidField("fieldRequired", "requestMetadata");
  if (typeof m !== "object" || Array.isArray(m)) invalidField("fieldNotObject", "requestMetadata");
  const md = m as Json;
  const out: RequestMetadata = {
    kmsRequestId: str(md, "kmsRequestId", "requestMetadata.kmsRequestId", true),
    kmsOperation: str(md, "kmsOperation", "requestMetadata.kmsOperation", true),
  };
  if (op !== "GetHealthStatus") out.awsPrincipalArn = str(md, "awsPrincipalArn", "requestMetadata.awsPrincipalArn", true);
  if (op === "Encrypt" || op === "Decrypt") out.kmsKeyArn = str(md, "kmsKeyArn", "requestMetadata.kmsKeyArn", true);
  for (const f of ["awsSourceVpc", "awsSourceVpce", "kmsViaService"] as const) {
    const v = str(md, f, `requestMetadata.${f}`, false);
    if (v !== undefined) out[f] = v;
  }
  return out;
}

/** A checked Encrypt request (Base64 checked but still encoded: size limits come after the key checks). */
export interface EncryptRequest {
  plaintextB64: string;
  aadB64?: string;
  cdivAlgorithm?: "SHA_256";
}

/** A checked Decrypt request (the ciphertext and AAD as for EncryptRequest). */
export interface DecryptRequest {
  ciphertextB64: string;
  iv: Buffer;
  tag: Buffer;
  aadB64?: string;
  metadata?: Buffer;
}

function algorithm(body: Json): void {
  if (str(body, "encryptionAlgorithm", "encryptionAlgorithm", true) !== "AES_GCM") invalid("algorithm");
}

/** The data field (plaintext, ciphertext): Base64 of at least one byte (KMS never sends less; the HSM refuses it). */
function dataField(body: Json, field: "plaintext" | "ciphertext"): string {
  const b64 = str(body, field, field, true);
  if (!B64_RE.test(b64)) invalidField("fieldNotBase64", field);
  if (b64 === "") invalidField("fieldEmpty", field);
  return b64;
}

/** The optional AAD, still encoded (present-but-empty is allowed and differs from absent). */
function aadField(body: Json): string | undefined {
  const aadB64 = str(body, "additionalAuthenticatedData", "additionalAuthenticatedData", false);
  if (aadB64 !== undefined && !B64_RE.test(aadB64)) invalidField("fieldNotBase64", "additionalAuthenticatedData");
  return aadB64;
}

/** Checks an Encrypt body. */
export function checkEncrypt(body: Json): EncryptRequest {
  const plaintextB64 = dataField(body, "plaintext");
  algorithm(body);
  const aadB64 = aadField(body);
  const alg = str(body, "ciphertextDataIntegrityValueAlgorithm", "ciphertextDataIntegrityValueAlgorithm", false);
  if (alg !== undefined && alg !== "SHA_256") invalid("cdivAlgorithm");
  return { plaintextB64, aadB64, cdivAlgorithm: alg as "SHA_256" | undefined };
}

/** Checks a Decrypt body. */
export function checkDecrypt(body: Json): DecryptRequest {
  const ciphertextB64 = dataField(body, "ciphertext");
  algorithm(body);
  const iv = decodeB64("initializationVector", str(body, "initializationVector", "initializationVector", true));
  if (iv.length !== 12 && iv.length !== 16) invalid("ivLength");
  const tag = decodeB64("authenticationTag", str(body, "authenticationTag", "authenticationTag", true));
  if (tag.length !== 16) invalid("tagLength");
  const aadB64 = aadField(body);
  const cmB64 = str(body, "ciphertextMetadata", "ciphertextMetadata", false);
  const metadata = cmB64 === undefined ? undefined : decodeB64("ciphertextMetadata", cmB64);
  if (metadata && metadata.length > 20) invalid("metadataLength");
  return { ciphertextB64, iv, tag, aadB64, metadata };
}
