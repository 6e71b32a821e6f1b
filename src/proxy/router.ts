/**
 * Maps a request path to (key store, operation, key id), as the reference does: cut the path at
 * the last "/kms/xks/v1/"; what comes before must be a configured uri_path_prefix.
 * Routing comes before SigV4, so an unknown prefix is 404 InvalidUriPathException, not 401.
 */
import type { KeyStoreSettings } from "../config/types.js";

/** The four XKS API v1 operations. */
export type Operation = "GetKeyMetadata" | "Encrypt" | "Decrypt" | "GetHealthStatus";

/** A matched route. */
export interface Route {
  store: KeyStoreSettings;
  operation: Operation;
  keyId?: string;
}

const MARKER = "/kms/xks/v1/";
const KEY_OPS: Record<string, Operation> = { metadata: "GetKeyMetadata", encrypt: "Encrypt", decrypt: "Decrypt" };

/** Builds the router for the configured stores. */
export function createRouter(stores: readonly KeyStoreSettings[]): (path: string) => Route | undefined {
  const byPrefix = new Map(stores.map((s) => [s.uri_path_prefix, s]));
  return (path) => {
    const at = path.lastIndexOf(MARKER);
    if (at < 0) return undefined;
    const store = byPrefix.get(path.slice(0, at));
    if (!store) return undefined;
    const rest = path.slice(at + MARKER.length);
    if (rest === "health") return { store, operation: "GetHealthStatus" };
    const parts = rest.split("/");
    if (parts.length !== 3 || parts[0] !== "keys" || parts[1] === "") return undefined;
    const operation = KEY_OPS[parts[2]!];
    return operation ? { store, operation, keyId: parts[1] } : undefined;
  };
}
