/**
 * Loads a PKCS#11 library, initialises it for multi-threaded use and finds the token:
 * by label when configured, else the first slot with a token present (the reference takes the
 * first slot). Start-up failures become XksctlErrors that name the fix.
 */
import fs from "node:fs";
import pkcs11js from "pkcs11js";
import { XksctlError } from "../../errors.js";
import { CKR, ckrName } from "./ckr.js";
import type { TokenIdentity } from "../types.js";

/** A loaded, initialised library and the slot of the chosen token. */
export interface LoadedLibrary {
  p: pkcs11js.PKCS11;
  slot: pkcs11js.Handle;
  token: TokenIdentity;
}

const trim = (s: string) => s.replace(/[\s\0]+$/, "");
const version = (v: { major: number; minor: number }) => `${v.major}.${v.minor}`;

/** Loads `modulePath` and selects the token; throws XKS_HSM_MODULE / XKS_HSM_TOKEN. */
export function loadLibrary(modulePath: string, tokenLabel?: string): LoadedLibrary {
  if (!fs.existsSync(modulePath)) {
    throw new XksctlError("XKS_HSM_MODULE", `PKCS#11 library not found: ${modulePath}`);
  }
  const p = new pkcs11js.PKCS11();
  try {
    p.load(modulePath);
  } catch (err) {
    throw new XksctlError("XKS_HSM_MODULE", `Cannot load PKCS#11 library ${modulePath}: ${(err as Error).message}`, { cause: err });
  }
  try {
    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (err) {
    if ((err as { code?: number }).code !== CKR.CRYPTOKI_ALREADY_INITIALIZED) {
      throw new XksctlError("XKS_HSM_MODULE", `C_Initialize failed for ${modulePath}: ${ckrName((err as { code?: number }).code ?? -1)}`, { cause: err });
    }
  }
  const slots = p.C_GetSlotList(true);
  const infos = slots.map((slot) => ({ slot, info: p.C_GetTokenInfo(slot) }));
  const chosen = tokenLabel === undefined ? infos.find((i) => (i.info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) !== 0) : infos.filter((i) => trim(i.info.label) === tokenLabel);
  const labels = infos.map((i) => JSON.stringify(trim(i.info.label))).join(", ") || "none";
  if (Array.isArray(chosen)) {
    if (chosen.length !== 1) {
      p.C_Finalize();
      throw new XksctlError(
        "XKS_HSM_TOKEN",
        chosen.length === 0 ? `No token labelled "${tokenLabel}" (tokens present: ${labels})` : `${chosen.length} tokens are labelled "${tokenLabel}"; labels must be unique`,
      );
    }
    return { p, slot: chosen[0]!.slot, token: identity(chosen[0]!.info) };
  }
  if (!chosen) {
    p.C_Finalize();
    throw new XksctlError("XKS_HSM_TOKEN", `No initialised token in any slot of ${modulePath} (tokens present: ${labels})`);
  }
  return { p, slot: chosen.slot, token: identity(chosen.info) };
}

function identity(info: pkcs11js.TokenInfo): TokenIdentity {
  return {
    label: trim(info.label),
    manufacturerId: trim(info.manufacturerID),
    model: trim(info.model),
    serialNumber: trim(info.serialNumber),
    hardwareVersion: version(info.hardwareVersion),
    firmwareVersion: version(info.firmwareVersion),
  };
}
