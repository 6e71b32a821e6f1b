/**
 * A project-local SoftHSM2 token for development and the quickstart: a softhsm2.conf pointing at
 * a token directory under `dir`, and a token initialised with softhsm2-util. SoftHSM gives tokens
 * random slot ids, so callers find the token by label (never by slot number).
 */
import fs from "node:fs";
import path from "node:path";
import type { Exec } from "../platform/exec.js";
import { toolFailure } from "../platform/exec.js";

/** The Debian path of the SoftHSM2 PKCS#11 library. */
export const SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so";

/** Writes `<dir>/softhsm2.conf` (token directory `<dir>/tokens`) and returns its path. */
export function writeSoftHsmConf(dir: string): string {
  const tokens = path.join(dir, "tokens");
  fs.mkdirSync(tokens, { recursive: true, mode: 0o700 });
  const conf = path.join(dir, "softhsm2.conf");
  fs.writeFileSync(conf, [`directories.tokendir = ${tokens}`, "objectstore.backend = file", "log.level = ERROR", "slots.removable = false", "slots.mechanisms = ALL", "library.reset_on_fork = false", ""].join("\n"), { mode: 0o600 });
  return conf;
}

/** Initialises a token labelled `label` in the first free slot. */
export async function initSoftHsmToken(exec: Exec, label: string, soPin: string, pin: string): Promise<void> {
  const r = await exec.run({ tool: "softhsm2-util", args: ["--init-token", "--free", "--label", label, "--so-pin", soPin, "--pin", pin], timeoutMs: 30_000 });
  // The PINs are arguments of softhsm2-util; hide them from any message built from the command.
  if (r.exitCode !== 0) throw toolFailure({ ...r, command: `softhsm2-util --init-token --free --label ${label} --so-pin *** --pin ***` }, "softhsm2-util --init-token");
}
