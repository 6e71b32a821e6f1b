/**
 * `ocs create`: checks the Security World is usable, then runs createocs on the admin's terminal
 * (its card and passphrase prompts reach the terminal unchanged; xksctl sees nothing typed).
 */
import { createOcs, type CreateOcsParams } from "../hsm/nfast/createocs.js";
import { readWorld } from "../hsm/nfast/nfkminfo.js";
import { requireUsableWorld } from "../hsm/nfast/status.js";
import type { Exec } from "../platform/exec.js";

/** Operators swap cards and type passphrases: allow half an hour. */
const CREATEOCS_TIMEOUT_MS = 30 * 60_000;

/** Creates the card set; `announce` is called after the world check, before createocs starts. */
export async function createCardSet(exec: Exec, input: CreateOcsParams, announce: () => void): Promise<void> {
  requireUsableWorld(await readWorld(exec));
  announce();
  await createOcs(exec, input, { stdio: "inherit", timeoutMs: CREATEOCS_TIMEOUT_MS });
}
