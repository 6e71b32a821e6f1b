/**
 * Group `pkcs11` with a fake HSM opener (the real one on SoftHSM runs in test/cli/doctor.test.ts):
 * each check passes, and fails for its main reason with the fix.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ERROR_CATALOGUE, XksctlError } from "../../../src/errors.js";
import { HsmError, type KeyInfo } from "../../../src/hsm/types.js";
import { fakeDeps, fakeHsm, result, runChecks, settingsFile, tmpDir, type FakeHsmOptions } from "./fixture.js";

const groups = ["pkcs11" as const];
const aes = (label: string, keyUsage = ["ENCRYPT", "DECRYPT"], keySpec = "AES_256"): KeyInfo => ({ label, keySpec, keyUsage });
const store = (ids: string[]) => ({ external_key_stores: [{ uri_path_prefix: "/p", sigv4_access_key_id: "AKIAXKSCTLTESTMAINKEY2", sigv4_secret_access_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", xks_key_id_set: ids }] });

function setup(ids: string[], hsm: FakeHsmOptions = {}, patch: Record<string, unknown> = {}) {
  const h = fakeHsm({ keys: [aes("foo"), aes("bar")], ...hsm });
  const config = settingsFile(tmpDir(), { ...store(ids), ...patch });
  return { h, config, deps: fakeDeps({ openHsm: async () => h }) };
}

describe("pkcs11.library / token / login", () => {
  test("pass: the HSM opens; it is closed after the last check", async () => {
    const { h, config, deps } = setup(["foo"]);
    const res = await runChecks(deps, { config, groups });
    assert.deepEqual([res.get("pkcs11.library")!.status, res.get("pkcs11.library")!.message], ["pass", "/usr/lib/softhsm/libsofthsm2.so loaded"]);
    assert.deepEqual([res.get("pkcs11.token")!.status, res.get("pkcs11.token")!.message], ["pass", 'token "doctor-test" (Fake HSM, serial 42)']);
    assert.deepEqual([res.get("pkcs11.login")!.status, res.get("pkcs11.login")!.message], ["pass", "user PIN accepted; 8 sessions opened"]);
    assert.equal(h.closed, true);
  });

  const opening = async (err: unknown) => runChecks(fakeDeps({ openHsm: async () => Promise.reject(err) }), { config: settingsFile(tmpDir(), store(["foo"])), groups });

  test("fail: the library does not load; the rest is skipped", async () => {
    const res = await opening(new XksctlError("XKS_HSM_MODULE", "Cannot load the PKCS#11 library /nowhere.so: no such file"));
    assert.deepEqual([res.get("pkcs11.library")!.status, res.get("pkcs11.library")!.fix], ["fail", ERROR_CATALOGUE.XKS_HSM_MODULE.remedy]);
    assert.match(res.get("pkcs11.library")!.message, /Cannot load the PKCS#11 library/);
    assert.deepEqual([res.get("pkcs11.token")!.status, res.get("pkcs11.token")!.message], ["skip", "needs: pkcs11.library"]);
    assert.deepEqual([res.get("pkcs11.keys")!.status, res.get("pkcs11.keys")!.message], ["skip", "needs: pkcs11.login"]);
  });

  test("fail: no token with the label (the library loaded)", async () => {
    const res = await opening(new XksctlError("XKS_HSM_TOKEN", 'No token labelled "doctor-test".'));
    assert.equal(res.get("pkcs11.library")!.status, "pass");
    assert.deepEqual([res.get("pkcs11.token")!.status, res.get("pkcs11.token")!.fix], ["fail", ERROR_CATALOGUE.XKS_HSM_TOKEN.remedy]);
    assert.equal(res.get("pkcs11.login")!.message, "needs: pkcs11.token");
  });

  test("fail: the PIN is refused (library and token fine)", async () => {
    const res = await opening(new XksctlError("XKS_HSM_LOGIN", "The token refused the user PIN (CKR_PIN_INCORRECT)."));
    assert.equal(res.get("pkcs11.token")!.status, "pass");
    assert.deepEqual([res.get("pkcs11.login")!.status, res.get("pkcs11.login")!.message, res.get("pkcs11.login")!.fix], ["fail", "The token refused the user PIN (CKR_PIN_INCORRECT).", ERROR_CATALOGUE.XKS_HSM_LOGIN.remedy]);
  });
});

describe("pkcs11.keys", () => {
  test("pass: every key id once, AES-256, ENCRYPT and DECRYPT", async () => {
    const { config, deps } = setup(["foo", "bar"]);
    const r = await result(deps, { config, groups }, "pkcs11.keys");
    assert.deepEqual([r.status, r.message], ["pass", "2 key ids, each one AES-256 key allowing ENCRYPT and DECRYPT: bar, foo"]);
  });

  test("fail: a key id the HSM lacks, on a line naming the key, with the fix", async () => {
    const { config, deps } = setup(["foo", "ghost"]);
    const r = await result(deps, { config, groups }, "pkcs11.keys");
    assert.equal(r.status, "fail");
    assert.equal(r.message, '1 of 2 key ids unusable: "ghost" (store "/p"): not on the token');
    assert.equal(r.fix, `Create "ghost" in the HSM (\`xksctl keys create ghost\` on nShield) or remove it from xks_key_id_set in ${config}.`);
  });

  test("fail: an encrypt-only key, an AES-128 key and a label twice", async () => {
    const { config, deps } = setup(["enc", "small", "twice"], { keys: [aes("enc", ["ENCRYPT"]), aes("small", ["ENCRYPT", "DECRYPT"], "AES_128"), aes("twice"), aes("twice")] });
    const r = await result(deps, { config, groups }, "pkcs11.keys");
    assert.equal(r.status, "fail");
    assert.match(r.message, /"enc" \(store "\/p"\): the key does not allow both ENCRYPT and DECRYPT/);
    assert.match(r.message, /"small" \(store "\/p"\): the key is AES_128; XKS needs AES_256/);
    assert.match(r.message, /"twice" \(store "\/p"\): 2 keys on the token carry this label/);
    assert.match(r.fix!, /AES-256 key that allows ENCRYPT and DECRYPT \(`xksctl keys list` shows each key\)/);
  });
});

describe("pkcs11.roundtrip", () => {
  test("pass: every usable key; unusable ones are named as not tested", async () => {
    const { config, deps } = setup(["foo", "ghost"]);
    const r = await result(deps, { config, groups }, "pkcs11.roundtrip");
    assert.deepEqual([r.status, r.message], ["pass", '1 key encrypt and decrypt in the HSM (not tested: "ghost", see pkcs11.keys)']);
  });

  test("fail: the decrypt returns other bytes", async () => {
    const { config, deps } = setup(["foo"], { corrupt: true });
    const r = await result(deps, { config, groups }, "pkcs11.roundtrip");
    assert.equal(r.status, "fail");
    assert.match(r.message, /"foo": Round trip with key "foo" returned different bytes than were encrypted/);
    assert.equal(r.fix, "Try the key alone with `xksctl keys test foo` and read the HSM's log; replace a key that does not round-trip.");
  });

  test("skip: no usable key", async () => {
    const { config, deps } = setup(["ghost"]);
    assert.deepEqual((await result(deps, { config, groups }, "pkcs11.roundtrip")).message, "no usable key to test (see pkcs11.keys)");
  });
});

describe("pkcs11.iv", () => {
  test("pass: fresh 12-byte IVs, made by the proxy from the HSM's RNG", async () => {
    const { config, deps } = setup(["foo"]);
    const r = await result(deps, { config, groups }, "pkcs11.iv");
    assert.deepEqual([r.status, r.message], ["pass", "12-byte IVs, fresh per encrypt, made by the proxy from the HSM's random generator (can_generate_iv = false)"]);
  });

  const nshieldCaps = { hsm_capabilities: { can_generate_iv: true, is_zero_iv_required: true } };

  test("fail: the settings say the HSM makes the IV but it left it zero", async () => {
    const { config, deps } = setup(["foo"], { iv: () => Buffer.alloc(12) }, nshieldCaps);
    const r = await result(deps, { config, groups }, "pkcs11.iv");
    assert.equal(r.status, "fail");
    assert.equal(r.message, "the encrypt returned a 12-byte all-zero IV with the IV made by the HSM over a zero IV (can_generate_iv = true, is_zero_iv_required = true)");
    assert.equal(r.fix, `In [hsm_capabilities] of ${config}, set can_generate_iv = false and is_zero_iv_required = false (SoftHSM and most HSMs take the proxy's IV).`);
  });

  test("fail: the HSM layer refuses an encrypt without an IV (what SoftHSM does with nShield's settings)", async () => {
    const { config, deps } = setup(["foo"], { encryptError: new HsmError("internal", "the HSM did not provide a GCM IV; check [hsm_capabilities] for this HSM") }, nshieldCaps);
    const r = await result(deps, { config, groups }, "pkcs11.iv");
    assert.equal(r.status, "fail");
    assert.match(r.message, /encrypt with "foo" failed with the IV made by the HSM over a zero IV .*: the HSM did not provide a GCM IV/);
  });

  test("fail: the same IV twice", async () => {
    const fixed = Buffer.from("0102030405060708090a0b0c", "hex");
    const { config, deps } = setup(["foo"], { iv: () => Buffer.from(fixed) });
    const r = await result(deps, { config, groups }, "pkcs11.iv");
    assert.equal(r.status, "fail");
    assert.match(r.message, /two encrypts returned the same IV 0102030405060708090a0b0c/);
    assert.match(r.fix!, /set can_generate_iv = true and is_zero_iv_required = true \(nShield and CloudHSM make the IV themselves\)/);
  });
});
