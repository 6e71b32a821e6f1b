/**
 * A private SoftHSM2 token for one test process: a temp token directory, a softhsm2.conf,
 * SOFTHSM2_CONF set in process.env (before any PKCS#11 module loads), and helpers to add keys.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import pkcs11js from "pkcs11js";
import { tempDir } from "./tmp.js";

export const SOFTHSM_LIB = process.env.SOFTHSM_LIB ?? "/usr/lib/softhsm/libsofthsm2.so";

/** A token ready for tests. */
export interface TestToken {
  dir: string;
  conf: string;
  label: string;
  pin: string;
  soPin: string;
  /** Environment for child processes (SOFTHSM2_CONF). */
  env: NodeJS.ProcessEnv;
}

/** Creates a fresh token in a temp dir and points SOFTHSM2_CONF at it. */
export function createTestToken(label = "xks-test", pin = "1234"): TestToken {
  const dir = tempDir("xksctl-softhsm-");
  fs.mkdirSync(path.join(dir, "tokens"));
  const conf = path.join(dir, "softhsm2.conf");
  fs.writeFileSync(
    conf,
    [
      `directories.tokendir = ${path.join(dir, "tokens")}`,
      "objectstore.backend = file",
      "log.level = ERROR",
      "slots.removable = false",
      "slots.mechanisms = ALL",
      "library.reset_on_fork = false",
      "",
    ].join("\n"),
  );
  process.env.SOFTHSM2_CONF = conf;
  const soPin = "5678";
  execFileSync("softhsm2-util", ["--init-token", "--free", "--label", label, "--so-pin", soPin, "--pin", pin], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    stdio: "ignore",
  });
  return { dir, conf, label, pin, soPin, env: { ...process.env, SOFTHSM2_CONF: conf } };
}

/** Attributes of a key to add. */
export interface KeySpec {
  label: string;
  /** Raw AES key value to import; random (generated in the token) when absent. */
  value?: Buffer;
  encrypt?: boolean;
  decrypt?: boolean;
  bits?: 128 | 192 | 256;
}

/** Adds AES keys to the token through a short-lived PKCS#11 session of this process. */
export function addKeys(token: TestToken, keys: KeySpec[], lib = SOFTHSM_LIB): void {
  const p = new pkcs11js.PKCS11();
  p.load(lib);
  p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  try {
    const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === token.label);
    if (!slot) throw new Error(`token ${token.label} not found`);
    const s = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p.C_Login(s, pkcs11js.CKU_USER, token.pin);
    for (const k of keys) {
      const common = [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_LABEL, value: k.label },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_ENCRYPT, value: k.encrypt ?? true },
        { type: pkcs11js.CKA_DECRYPT, value: k.decrypt ?? true },
      ];
      if (k.value) {
        p.C_CreateObject(s, [...common, { type: pkcs11js.CKA_VALUE, value: k.value }]);
      } else {
        p.C_GenerateKey(s, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
          ...common,
          { type: pkcs11js.CKA_VALUE_LEN, value: (k.bits ?? 256) / 8 },
          { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        ]);
      }
    }
    p.C_Logout(s);
    p.C_CloseSession(s);
  } finally {
    p.C_Finalize();
  }
}

/** Removes the token directory. */
export function removeTestToken(token: TestToken): void {
  fs.rmSync(token.dir, { recursive: true, force: true });
}
