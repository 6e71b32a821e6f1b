/**
 * Where a `*_file` key of the settings points (user_pin_file, sigv4_secret_access_key_file, in
 * every key store and every additional credential). One rule, used by validation (so by `serve`
 * and every command) and by the commands that write these files:
 *
 * - `$CREDENTIALS_DIRECTORY/NAME` (or `${CREDENTIALS_DIRECTORY}/NAME`): NAME in the folder systemd
 *   gives a service for its `LoadCredential=` files (an error when the variable is unset);
 * - an absolute path: as written;
 * - a relative path: against the folder of the settings file, never the working directory.
 *
 * The reference proxy's own path keys (tls_cert_pem, ...) are not `*_file` keys and keep its rule
 * (the working directory).
 */
import path from "node:path";

/** The variable systemd sets for a service with LoadCredential= lines. */
const CREDENTIALS_DIRECTORY = "CREDENTIALS_DIRECTORY";

const CRED_PREFIX = /^\$(?:\{CREDENTIALS_DIRECTORY\}|CREDENTIALS_DIRECTORY)(?=\/|$)/;

/** A `*_file` value resolved, or why it cannot be. */
export type ResolvedSettingsPath = { ok: true; path: string } | { ok: false; reason: string };

/** Whether a `*_file` value names a systemd credential (`$CREDENTIALS_DIRECTORY/...`). */
export function isCredentialsPath(value: string): boolean {
  return CRED_PREFIX.test(value);
}

/** Resolves a `*_file` value of the settings file `settingsFile` (absolute or not). */
export function resolveSettingsPath(value: string, settingsFile: string, env: NodeJS.ProcessEnv): ResolvedSettingsPath {
  if (isCredentialsPath(value)) {
    const dir = env[CREDENTIALS_DIRECTORY];
    if (!dir) return { ok: false, reason: "$CREDENTIALS_DIRECTORY is unset (it is set by systemd for a unit with LoadCredential= lines)" };
    return { ok: true, path: path.join(dir, value.replace(CRED_PREFIX, "")) };
  }
  return { ok: true, path: path.resolve(path.dirname(path.resolve(settingsFile)), value) };
}
