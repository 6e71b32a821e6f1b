/**
 * Group `pkcs11`: the HSM as the proxy opens it (library, token, PIN: the same opener as `serve`),
 * every key id of every store on the token exactly once as an AES-256 key allowing ENCRYPT and
 * DECRYPT, an AES-GCM round trip per key inside the HSM, and the IV settings against what the
 * HSM does.
 */
import { isXksctlError } from "../../errors.js";
import type { Hsm } from "../../hsm/types.js";
import { mergeKeyViews, type KeyRow } from "../list-keys.js";
import { roundTripKey } from "../test-key.js";
import { hsmFacts, requireSettings, settingsFacts, tokenKeys } from "./facts.js";
import { failOf, type CheckOutcome, type DoctorCheck, type DoctorRun } from "./types.js";

const LIBRARY_CODES = new Set(["XKS_HSM_MODULE", "XKS_NATIVE_DRIVER"]);
const TOKEN_CODES = new Set(["XKS_HSM_TOKEN"]);

/** The opener's failure as the step it belongs to: library, token or login (everything after). */
function stepOf(err: unknown): "library" | "token" | "login" {
  if (isXksctlError(err)) {
    if (LIBRARY_CODES.has(err.code)) return "library";
    if (TOKEN_CODES.has(err.code)) return "token";
    return "login";
  }
  return "library";
}

function failure(err: unknown): CheckOutcome {
  if (isXksctlError(err)) return failOf(err);
  return { status: "fail", message: (err as Error)?.message ?? String(err), fix: "Check [pkcs11] PKCS11_HSM_MODULE, token_label and user_pin in the settings; `xksctl keys list` shows the token." };
}

const libraryCheck: DoctorCheck = {
  id: "pkcs11.library",
  group: "pkcs11",
  title: "the PKCS#11 library ([pkcs11] PKCS11_HSM_MODULE) loads and initialises",
  needs: ["settings.valid"],
  async run(run) {
    const settings = await requireSettings(run);
    const { error } = await hsmFacts(run);
    if (error !== undefined && stepOf(error) === "library") return failure(error);
    return { status: "pass", message: `${settings.pkcs11.PKCS11_HSM_MODULE} loaded` };
  },
};

const tokenCheck: DoctorCheck = {
  id: "pkcs11.token",
  group: "pkcs11",
  title: "the token is found (the first initialised one, or [pkcs11] token_label)",
  needs: ["pkcs11.library"],
  async run(run) {
    const settings = await requireSettings(run);
    const { hsm, error } = await hsmFacts(run);
    if (error !== undefined && stepOf(error) === "token") return failure(error);
    if (hsm) {
      const t = hsm.token();
      return { status: "pass", message: `token ${JSON.stringify(t.label)} (${t.manufacturerId} ${t.model}, serial ${t.serialNumber})` };
    }
    return { status: "pass", message: settings.pkcs11.token_label ? `token ${JSON.stringify(settings.pkcs11.token_label)} found` : "a token found" };
  },
};

const loginCheck: DoctorCheck = {
  id: "pkcs11.login",
  group: "pkcs11",
  title: "the user PIN logs in and sessions open, as `xksctl serve` does at start-up",
  needs: ["pkcs11.token"],
  async run(run) {
    const settings = await requireSettings(run);
    const { hsm, error } = await hsmFacts(run);
    if (!hsm) return failure(error);
    return { status: "pass", message: `user PIN accepted; ${settings.pkcs11.session_pool_max_size} sessions opened` };
  },
};

/** The rows of the stores' key ids, merged from the token and the settings (as `keys list`). */
async function storeKeyRows(run: DoctorRun): Promise<KeyRow[]> {
  return run.once("pkcs11-rows", async () => {
    const settings = await requireSettings(run);
    const rows = mergeKeyViews(null, await tokenKeys(run), settings);
    return rows.filter((r) => r.stores.length > 0);
  });
}

const where = (r: KeyRow): string => (r.stores.length === 1 ? `store ${JSON.stringify(r.stores[0])}` : `stores ${r.stores.map((s) => JSON.stringify(s)).join(", ")}`);

const keysCheck: DoctorCheck = {
  id: "pkcs11.keys",
  group: "pkcs11",
  title: "every key id of every store is on the token exactly once, an AES-256 key allowing ENCRYPT and DECRYPT",
  needs: ["pkcs11.login"],
  async run(run) {
    const f = await settingsFacts(run);
    let rows: KeyRow[];
    try {
      rows = await storeKeyRows(run);
    } catch (err) {
      return failure(err);
    }
    if (rows.length === 0) return { status: "skip", message: "no key id in any store (see settings.key-ids)" };
    const bad = rows.filter((r) => !r.usableForXks);
    if (bad.length > 0) {
      const missing = bad.filter((r) => !r.onToken).map((r) => r.label);
      const fixes = [
        missing.length > 0 ? `create ${missing.map((m) => JSON.stringify(m)).join(", ")} in the HSM (\`xksctl keys create ${missing[0]}\` on nShield) or remove ${missing.length === 1 ? "it" : "them"} from xks_key_id_set in ${f.file}` : "",
        bad.some((r) => r.onToken) ? "replace the other keys named by an AES-256 key that allows ENCRYPT and DECRYPT (`xksctl keys list` shows each key)" : "",
      ].filter(Boolean);
      return {
        status: "fail",
        message: `${bad.length} of ${rows.length} key ids unusable: ${bad.map((r) => `${JSON.stringify(r.label)} (${where(r)}): ${r.reason}`).join("; ")}`,
        fix: `${fixes.join("; ")}.`.replace(/^./, (c) => c.toUpperCase()),
      };
    }
    return { status: "pass", message: `${rows.length} key id${rows.length === 1 ? "" : "s"}, each one AES-256 key allowing ENCRYPT and DECRYPT: ${rows.map((r) => r.label).join(", ")}` };
  },
};

/** Key ids the round trip and IV checks use: on the token once, and usable for XKS. */
async function usableKeys(run: DoctorRun): Promise<{ usable: string[]; others: KeyRow[] }> {
  const rows = await storeKeyRows(run);
  return { usable: rows.filter((r) => r.usableForXks).map((r) => r.label), others: rows.filter((r) => !r.usableForXks) };
}

const roundTripCheck: DoctorCheck = {
  id: "pkcs11.roundtrip",
  group: "pkcs11",
  title: "an AES-GCM encrypt and decrypt inside the HSM with every usable key returns the plaintext",
  needs: ["pkcs11.login"],
  async run(run) {
    const { hsm } = await hsmFacts(run);
    const { usable, others } = await usableKeys(run);
    if (usable.length === 0) return { status: "skip", message: "no usable key to test (see pkcs11.keys)" };
    const failed: string[] = [];
    for (const id of usable) {
      try {
        await roundTripKey(hsm!, id, run.deps.randomBytes, () => run.deps.monotonicMs());
      } catch (err) {
        failed.push(`${JSON.stringify(id)}: ${(err as Error).message}`);
      }
    }
    const fix = `Try the key alone with \`xksctl keys test ${usable[0]}\` and read the HSM's log; replace a key that does not round-trip.`;
    const untested = others.length > 0 ? ` (not tested: ${others.map((r) => JSON.stringify(r.label)).join(", ")}, see pkcs11.keys)` : "";
    if (failed.length > 0) return { status: "fail", message: `${failed.length} of ${usable.length} round trips failed: ${failed.join("; ")}${untested}`, fix };
    return { status: "pass", message: `${usable.length} key${usable.length === 1 ? "" : "s"} encrypt and decrypt in the HSM${untested}` };
  },
};

/** Where [hsm_capabilities] says the IV is made, in words. */
function ivPlace(caps: { can_generate_iv: boolean; is_zero_iv_required: boolean }): string {
  if (!caps.can_generate_iv) return "by the proxy from the HSM's random generator (can_generate_iv = false)";
  return caps.is_zero_iv_required ? "by the HSM over a zero IV (can_generate_iv = true, is_zero_iv_required = true)" : "by the HSM, appended to its output (can_generate_iv = true, is_zero_iv_required = false)";
}

const ivCheck: DoctorCheck = {
  id: "pkcs11.iv",
  group: "pkcs11",
  title: "[hsm_capabilities] matches the HSM: two encrypts return two different, non-zero 12-byte IVs made where the settings say",
  needs: ["pkcs11.login"],
  async run(run) {
    const settings = await requireSettings(run);
    const f = await settingsFacts(run);
    const caps = settings.hsm_capabilities;
    const { hsm } = await hsmFacts(run);
    const { usable } = await usableKeys(run);
    const key = usable[0];
    if (!key) return { status: "skip", message: "no usable key to encrypt with (see pkcs11.keys)" };
    const flip = caps.can_generate_iv
      ? "can_generate_iv = false and is_zero_iv_required = false (SoftHSM and most HSMs take the proxy's IV)"
      : "can_generate_iv = true and is_zero_iv_required = true (nShield and CloudHSM make the IV themselves)";
    const fix = `In [hsm_capabilities] of ${f.file}, set ${flip}.`;
    const ivs: Buffer[] = [];
    for (let i = 0; i < 2; i++) {
      try {
        ivs.push((await encryptOnce(hsm!, key, run)).iv);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        return { status: "fail", message: `encrypt with ${JSON.stringify(key)} failed with the IV made ${ivPlace(caps)}: ${why}`, fix };
      }
    }
    const [a, b] = ivs as [Buffer, Buffer];
    if (a.length !== 12 || a.every((x) => x === 0)) return { status: "fail", message: `the encrypt returned a ${a.length}-byte ${a.every((x) => x === 0) ? "all-zero " : ""}IV with the IV made ${ivPlace(caps)}`, fix };
    if (a.equals(b)) return { status: "fail", message: `two encrypts returned the same IV ${a.toString("hex")} (made ${ivPlace(caps)}): GCM with a repeated IV leaks the key stream`, fix };
    return { status: "pass", message: `12-byte IVs, fresh per encrypt, made ${ivPlace(caps)}` };
  },
};

/** One encrypt of random bytes (nothing kept). */
async function encryptOnce(hsm: Hsm, key: string, run: DoctorRun): Promise<{ iv: Buffer }> {
  const r = await hsm.encrypt(key, run.deps.randomBytes(16), Buffer.from("xksctl doctor pkcs11.iv"));
  return { iv: r.iv };
}

export const PKCS11_CHECKS: readonly DoctorCheck[] = [libraryCheck, tokenCheck, loginCheck, keysCheck, roundTripCheck, ivCheck];
