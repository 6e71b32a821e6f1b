/**
 * The four XKS API v1 operations (xks-api.md §5), after routing and SigV4. Check order follows
 * §7: requestMetadata (400) → allow rules (403) → body fields (400) → key in the store (404) →
 * key status (400) → size limits (501) → HSM.
 * Handlers return the response object or throw; src/proxy/errors.ts renders failures.
 */
import type { Settings, KeyStoreSettings } from "../config/types.js";
import type { Hsm } from "../hsm/types.js";
import { buildHsmAad, cdiv } from "./aad.js";
import { XksError, fieldError } from "./errors.js";
import type { HealthMonitor } from "./health.js";
import { allowed } from "./authorize.js";
import { checkDecrypt, checkEncrypt, checkMetadata, type RequestMetadata } from "./request-body.js";
import type { Route } from "./router.js";

/** What the handlers use. */
export interface HandlerDeps {
  settings: Settings;
  hsm: Hsm;
  health: HealthMonitor;
  /** ciphertext_metadata_b64 decoded once at start-up. */
  metadata?: Buffer;
}

/** A handler's result: the JSON response and what the log line should carry. */
export interface HandlerResult {
  body: Record<string, unknown>;
  metadata: RequestMetadata;
}

/** The key must be in the store's xks_key_id_set (checked before any HSM call) and enabled. */
function checkKey(store: KeyStoreSettings, keyId: string, forCrypto: boolean): void {
  if (!store.xks_key_id_set.includes(keyId)) throw new XksError("keyNotInStore");
  if (forCrypto && store.disabled_xks_key_ids.includes(keyId)) throw new XksError("keyDisabled");
}

function checkSize(field: "plaintext" | "ciphertext" | "additionalAuthenticatedData", b64: string | undefined, max: number): void {
  if (b64 !== undefined && b64.length > max) {
    throw fieldError("fieldTooLarge", field, `${b64.length} Base64 characters, [limits] allows ${max}`);
  }
}

/**
 * Applies [limits] to the data field and the AAD, then decodes both (check order §7: 501 before
 * the HSM). checkEncrypt / checkDecrypt have already checked that both are strict Base64.
 */
function limitAndDecode(field: "plaintext" | "ciphertext", dataB64: string, aadB64: string | undefined, deps: HandlerDeps): { data: Buffer; aad?: Buffer } {
  const limits = deps.settings.limits;
  checkSize(field, dataB64, limits.max_plaintext_in_base64);
  checkSize("additionalAuthenticatedData", aadB64, limits.max_aad_in_base64);
  const aad = aadB64 === undefined ? undefined : Buffer.from(aadB64, "base64");
  // The AAD length is a u16 in the HSM AAD (the reference crashes past it).
  if (aad && aad.length > 65535) throw fieldError("fieldTooLarge", "additionalAuthenticatedData", `${aad.length} bytes, the HSM AAD allows 65535`);
  return { data: Buffer.from(dataB64, "base64"), aad };
}

/** Dispatches a routed, authenticated request to its operation. */
export async function handle(route: Route, body: Record<string, unknown>, deps: HandlerDeps): Promise<HandlerResult> {
  const metadata = checkMetadata(body, route.operation);
  // Secondary authorization: the request's metadata against the store's allow rules (never health).
  if (route.operation !== "GetHealthStatus" && !allowed(route.store, metadata)) {
    throw new XksError("accessDenied", { detail: `no [[external_key_stores.allow]] rule of this store matched (${route.store.allow.length} rules)` });
  }
  switch (route.operation) {
    case "GetHealthStatus":
      return { metadata, body: { ...(await deps.health.status()) } };
    case "GetKeyMetadata":
      return { metadata, body: await getKeyMetadata(route.store, route.keyId!, deps) };
    case "Encrypt":
      return { metadata, body: await encrypt(route.store, route.keyId!, body, deps) };
    case "Decrypt":
      return { metadata, body: await decrypt(route.store, route.keyId!, body, deps) };
  }
}

async function getKeyMetadata(store: KeyStoreSettings, keyId: string, deps: HandlerDeps): Promise<Record<string, unknown>> {
  checkKey(store, keyId, false);
  const info = await deps.hsm.keyMetadata(keyId);
  return {
    keySpec: info.keySpec,
    keyUsage: info.keyUsage.slice(0, 10),
    keyStatus: store.disabled_xks_key_ids.includes(keyId) ? "DISABLED" : "ENABLED",
  };
}

async function encrypt(store: KeyStoreSettings, keyId: string, body: Record<string, unknown>, deps: HandlerDeps): Promise<Record<string, unknown>> {
  const req = checkEncrypt(body);
  checkKey(store, keyId, true);
  const { data: plaintext, aad } = limitAndDecode("plaintext", req.plaintextB64, req.aadB64, deps);
  const hsmAad = buildHsmAad(aad, deps.metadata);
  const out = await deps.hsm.encrypt(keyId, plaintext, hsmAad);
  plaintext.fill(0);
  const res: Record<string, unknown> = {
    ciphertext: out.ciphertext.toString("base64"),
    initializationVector: out.iv.toString("base64"),
    authenticationTag: out.tag.toString("base64"),
  };
  if (deps.metadata) res.ciphertextMetadata = deps.metadata.toString("base64");
  if (req.cdivAlgorithm) {
    // §6.3: compute CDIV from the encrypt output first, then prove it decrypts.
    const value = cdiv(aad, deps.metadata, out.iv, out.ciphertext, out.tag);
    const check = await deps.hsm.decrypt(keyId, out.ciphertext, out.iv, out.tag, hsmAad);
    check.fill(0);
    res.ciphertextDataIntegrityValue = value;
  }
  return res;
}

async function decrypt(store: KeyStoreSettings, keyId: string, body: Record<string, unknown>, deps: HandlerDeps): Promise<Record<string, unknown>> {
  const req = checkDecrypt(body);
  checkKey(store, keyId, true);
  const { data: ciphertext, aad } = limitAndDecode("ciphertext", req.ciphertextB64, req.aadB64, deps);
  const plaintext = await deps.hsm.decrypt(keyId, ciphertext, req.iv, req.tag, buildHsmAad(aad, req.metadata));
  const b64 = plaintext.toString("base64");
  plaintext.fill(0);
  return { plaintext: b64 };
}
