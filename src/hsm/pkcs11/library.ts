/**
 * Loads a PKCS#11 library through the native driver (every call off the event loop, see
 * docs/decisions/0002), initialises it for multi-threaded use, finds the token (by label when
 * configured, else the first initialised one) and logs the user in. Start-up failures become
 * XksctlErrors that name the fix: the library missing or of the wrong architecture, C_Initialize
 * refused, no token with the label, the PIN wrong, C_Login or C_OpenSession refused.
 */
import fs from "node:fs";
import { XksctlError } from "../../errors.js";
import type { TokenIdentity } from "../types.js";
import { ckrName, ckrOf, describeFailure, isPinFailure } from "./ckr.js";
import { CKF_TOKEN_INITIALIZED, openLibrary, type LibraryOptions, type NativeLibrary, type NativeSlot } from "./native.js";

/** A loaded, initialised library and the slot of the chosen token. */
export interface LoadedLibrary {
  lib: NativeLibrary;
  slot: number;
  token: TokenIdentity;
}

/** dlopen failures, read for the admin. */
function moduleLoadError(modulePath: string, err: unknown): XksctlError {
  const text = (err as Error)?.message ?? String(err);
  if (/wrong ELF class|ELFCLASS|invalid ELF header|cannot execute binary|machine type/i.test(text)) {
    return new XksctlError("XKS_HSM_MODULE", `${modulePath} is not a PKCS#11 library for this machine (${process.arch}): ${text}`, {
      remedy: `Install the ${process.arch === "x64" ? "64-bit x86" : process.arch} build of the vendor's PKCS#11 library (nShield: /opt/nfast/toolkits/pkcs11/libcknfast.so) and point [pkcs11] PKCS11_HSM_MODULE at it.`,
    });
  }
  return new XksctlError("XKS_HSM_MODULE", `Cannot load PKCS#11 library ${modulePath}: ${text}`, { cause: err });
}

/** Loads `modulePath` with the driver options and selects the token; throws XKS_HSM_MODULE / XKS_HSM_TOKEN. */
export async function loadLibrary(modulePath: string, tokenLabel: string | undefined, driver: LibraryOptions): Promise<LoadedLibrary> {
  if (!fs.existsSync(modulePath)) throw new XksctlError("XKS_HSM_MODULE", `PKCS#11 library not found: ${modulePath}`);
  let lib: NativeLibrary;
  try {
    lib = openLibrary(modulePath, driver);
  } catch (err) {
    if ((err as { code?: unknown }).code === "XKS_NATIVE_MISSING") throw new XksctlError("XKS_NATIVE_DRIVER", (err as Error).message);
    throw moduleLoadError(modulePath, err);
  }
  return { lib, ...(await initToken(lib, modulePath, tokenLabel)) };
}

/** C_Initialize, then the token; on a token failure the library is finalized again. */
export async function initToken(lib: NativeLibrary, modulePath: string, tokenLabel: string | undefined): Promise<{ slot: number; token: TokenIdentity }> {
  try {
    await lib.initialize();
  } catch (err) {
    throw new XksctlError("XKS_HSM_MODULE", `C_Initialize failed for ${modulePath}: ${describeFailure(err)}`, {
      remedy: "Check the HSM client is running and configured (nShield: the hardserver, `enquiry`), then retry.",
      cause: err,
    });
  }
  try {
    return await chooseToken(lib, modulePath, tokenLabel);
  } catch (err) {
    await lib.finalize().catch(() => undefined);
    throw err;
  }
}

async function chooseToken(lib: NativeLibrary, modulePath: string, tokenLabel: string | undefined): Promise<{ slot: number; token: TokenIdentity }> {
  let slots: NativeSlot[];
  try {
    slots = (await lib.slots(true)).filter((s) => s.token !== undefined);
  } catch (err) {
    throw new XksctlError("XKS_HSM_TOKEN", `Cannot list the slots of ${modulePath}: ${describeFailure(err)}`, { cause: err });
  }
  const labels = slots.map((s) => JSON.stringify(s.token!.label)).join(", ") || "none";
  const chosen = tokenLabel === undefined ? slots.filter((s) => (s.token!.flags & CKF_TOKEN_INITIALIZED) !== 0).slice(0, 1) : slots.filter((s) => s.token!.label === tokenLabel);
  if (chosen.length === 0) {
    throw new XksctlError(
      "XKS_HSM_TOKEN",
      tokenLabel === undefined ? `No initialised token in any slot of ${modulePath} (tokens present: ${labels})` : `No token labelled "${tokenLabel}" (tokens present: ${labels})`,
    );
  }
  if (chosen.length > 1) throw new XksctlError("XKS_HSM_TOKEN", `${chosen.length} tokens are labelled "${tokenLabel}"; labels must be unique`);
  const t = chosen[0]!.token!;
  return {
    slot: chosen[0]!.slot,
    token: { label: t.label, manufacturerId: t.manufacturerId, model: t.model, serialNumber: t.serialNumber, hardwareVersion: t.hardwareVersion, firmwareVersion: t.firmwareVersion },
  };
}

/**
 * Opens a session on `slot`; C_OpenSession refused becomes XKS_HSM_SESSION (start-up) — callers on
 * the request path classify the raw rejection themselves.
 */
export async function openSession(lib: NativeLibrary, slot: number): Promise<number> {
  try {
    return await lib.openSession(slot);
  } catch (err) {
    throw new XksctlError("XKS_HSM_SESSION", `C_OpenSession refused a read/write session: ${describeFailure(err)}`, { cause: err });
  }
}

/**
 * The one C_Login of xksctl (CKU_USER; already logged in is success), with the one error mapping:
 * a PIN problem is XKS_HSM_LOGIN, any other refusal XKS_HSM_LOGIN_REFUSED (on nShield module
 * protection: CKNFAST_FAKE_ACCELERATOR_LOGIN missing from cknfastrc).
 */
export async function login(lib: NativeLibrary, session: number, pin: string): Promise<void> {
  const buf = Buffer.from(pin, "utf8");
  try {
    await lib.login(session, buf);
  } catch (err) {
    const code = ckrOf(err);
    if (code !== undefined && isPinFailure(code)) throw new XksctlError("XKS_HSM_LOGIN", `C_Login refused the user PIN: ${ckrName(code)}`, { cause: err });
    throw new XksctlError("XKS_HSM_LOGIN_REFUSED", `C_Login failed: ${describeFailure(err)}`, { cause: err });
  } finally {
    buf.fill(0);
  }
}
