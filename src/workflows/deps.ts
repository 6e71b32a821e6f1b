/**
 * The effects the operator verbs need beyond Context: the tool runner, the PKCS#11 HSM and the
 * CSPRNG. Commands take them from `ctx.operator` when a test put fakes or wrappers there, and
 * fall back to the real ones.
 */
import crypto from "node:crypto";
import type { Context } from "../context.js";
import type { Settings } from "../config/types.js";
import { createExec, type Exec } from "../platform/exec.js";
import { openHsm } from "./open-hsm.js";
import type { Hsm } from "../hsm/types.js";

/** Effects of the operator verbs. */
export interface OperatorDeps {
  /** Runs the nShield tools. */
  exec: Exec;
  /** Opens the PKCS#11 HSM the settings describe. */
  openHsm(settings: Settings): Promise<Hsm>;
  /** Cryptographically secure random bytes. */
  randomBytes(n: number): Buffer;
}

/** A Context that may carry replacements for some operator effects (tests). */
export interface OperatorContext extends Context {
  operator?: Partial<OperatorDeps>;
}

/** The operator effects for a command: the context's replacements, else the real ones. */
export function operatorDeps(ctx: Context): OperatorDeps {
  const given = (ctx as OperatorContext).operator ?? {};
  return {
    exec: given.exec ?? createExec(ctx.env),
    openHsm: given.openHsm ?? ((s) => openHsm(s)),
    randomBytes: given.randomBytes ?? ((n) => crypto.randomBytes(n)),
  };
}
