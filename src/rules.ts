/**
 * The rules of the domain, each written once: what KMS accepts as a key id, a URI path, a SigV4
 * credential; what a port number is; which keys XKS can use. Settings validation, the workflows
 * and the commands all ask here. Base module: imports nothing but the error catalogue.
 */
import { XksctlError } from "./errors.js";

/** KMS XksProxyAuthenticationCredential.AccessKeyId: 20-30 of A-Z2-7. */
export const ACCESS_KEY_ID_RE = /^[A-Z2-7]{20,30}$/;
/** What the access key id rule says in one line. */
export const ACCESS_KEY_ID_RULE = "20-30 characters of A-Z and 2-7";
/** KMS RawSecretAccessKey: 43-64 of a-zA-Z0-9/+=. */
export const SECRET_RE = /^[a-zA-Z0-9/+=]{43,64}$/;
/** What the secret rule says in one line. */
export const SECRET_RULE = "43-64 characters of a-z A-Z 0-9 / + =";
/** The access key id of the reference proxy's sample settings: well-formed, but no credential. */
export const PLACEHOLDER_ACCESS_KEY_ID = "BETWEEN2TENAND3TENCHARACTERS";

/** Whether `v` is an access key id KMS accepts and not the sample's placeholder. */
export function isUsableAccessKeyId(v: unknown): v is string {
  return typeof v === "string" && ACCESS_KEY_ID_RE.test(v) && v !== PLACEHOLDER_ACCESS_KEY_ID;
}

/** XKS externalKeyId: at most 128 of A-Za-z0-9-._ (spec §3). */
export const KEY_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;
/** KMS XksProxyUriPath pattern (CreateCustomKeyStore API), applied to prefix + "/kms/xks/v1". */
export const URI_PATH_RE = /^(\/[a-zA-Z0-9/_-]+\/kms\/xks\/v\d{1,2})$|^(\/kms\/xks\/v\d{1,2})$/;
/** Longest XksProxyUriPath KMS stores. */
export const URI_PATH_MAX = 128;

/** What the key-id rule says in one line (settings validation shows it as "expected"). */
export const KEY_ID_RULE = "1-128 characters of A-Z a-z 0-9 - . _ (not . or ..)";

/** Why `id` is not a usable XKS key id, or null when it is. */
export function keyIdProblem(id: string): string | null {
  if (id === "." || id === "..") return "it is a path dot-segment: KMS clients normalise it away, so it could never be addressed";
  if (KEY_ID_RE.test(id)) return null;
  if (id.length === 0) return "it is empty";
  if (id.length > 128) return `it has ${id.length} characters (at most 128)`;
  const bad = [...new Set([...id].filter((c) => !/[A-Za-z0-9._-]/.test(c)))].map((c) => JSON.stringify(c)).join(" ");
  return `it contains ${bad}`;
}

/** Throws XKS_KEY_INVALID_ID unless `id` is a usable XKS key id. */
export function assertKeyId(id: string): void {
  const why = keyIdProblem(id);
  if (why === null) return;
  const shown = JSON.stringify(id.length > 60 ? `${id.slice(0, 57)}...` : id);
  throw new XksctlError("XKS_KEY_INVALID_ID", `Key id ${shown} is not a valid XKS key id: ${why}.`);
}

/** The XksProxyUriPath KMS stores for a key store's uri_path_prefix. */
export function uriPathOf(prefix: string): string {
  return `${prefix}/kms/xks/v1`;
}

/** What the prefix rule says in one line. */
export const URI_PREFIX_RULE = `"" or a path like "/a/b" of a-z A-Z 0-9 / - _ (no trailing or double slash; prefix + "/kms/xks/v1" at most ${URI_PATH_MAX})`;

/** Whether `prefix` gives an XksProxyUriPath that KMS accepts and the router can match. */
export function isValidUriPrefix(prefix: string): boolean {
  if (prefix === "") return true;
  const uriPath = uriPathOf(prefix);
  return URI_PATH_RE.test(uriPath) && uriPath.length <= URI_PATH_MAX && !prefix.endsWith("/") && !prefix.includes("//");
}

/** Parses a uri_path_prefix flag or answer; a wrong one names the flag and `shown` (what was typed). Throws XKS_USAGE. */
export function parseUriPrefix(value: string, flag: string, shown = value): string {
  if (!isValidUriPrefix(value)) throw new XksctlError("XKS_USAGE", `${flag} ${JSON.stringify(shown)} does not give a valid XksProxyUriPath: use ${URI_PREFIX_RULE}`);
  return value;
}

/** An AWS region name (us-east-1, eu-central-2, us-gov-west-1). */
export const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** Parses a region flag or answer; a wrong one names the flag. */
export function parseRegion(value: string, flag: string): string {
  if (!REGION_RE.test(value)) throw new XksctlError("XKS_USAGE", `${flag} must be an AWS region such as us-east-1, got ${JSON.stringify(value)}`);
  return value;
}

/** A TCP port from an option value; `allowZero` admits 0 (any free port, for tests). Throws XKS_USAGE. */
export function parsePort(value: string, flag: string, opts: { allowZero?: boolean } = {}): number {
  const min = opts.allowZero ? 0 : 1;
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < min || n > 65535) {
    throw new XksctlError("XKS_USAGE", `${flag} must be a port number ${min}-65535, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** The key spec XKS requires (AWS KMS external keys are AES-256). */
export const XKS_KEY_SPEC = "AES_256";

/** Why a key with this spec and these usages cannot serve XKS, or null when it can. */
export function xksKeyProblem(key: { keySpec: string | null; keyUsage: readonly string[] }): string | null {
  if (key.keySpec !== XKS_KEY_SPEC) return `the key is ${key.keySpec ?? "of unknown type"}; XKS needs ${XKS_KEY_SPEC}`;
  if (!key.keyUsage.includes("ENCRYPT") || !key.keyUsage.includes("DECRYPT")) return "the key does not allow both ENCRYPT and DECRYPT";
  return null;
}
