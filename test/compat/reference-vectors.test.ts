/**
 * Compatibility with the reference proxy's own AES-GCM vectors (vectors/aes-gcm-aad.json): xksctl
 * builds the same HSM AAD and CDIV, our generator's layouts reproduce both of its schemes, and a
 * real proxy on SoftHSM decrypts its ciphertexts byte for byte.
 * Runs only when XKS_REFERENCE_DIR names a folder with vectors/ (see test/helpers/reference.ts);
 * otherwise every test here is reported as skipped with the reason.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import type { Agent } from "undici";
import { hsmAad, type Scheme } from "../../scripts/gen-aad-vectors.js";
import { buildHsmAad, cdiv } from "../../src/proxy/aad.js";
import { keyPath, md, startTestProxy, type TestProxy } from "../helpers/proxy.js";
import { referenceGate } from "../helpers/reference.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { agents, smithyPost } from "../helpers/sign.js";
import { addKeys, createTestToken } from "../helpers/softhsm.js";

const VECTORS_REL = "vectors/aes-gcm-aad.json";
const gate = referenceGate([VECTORS_REL]);
const opts = { skip: gate.skip };

type Vector = Record<string, string | null>;
const loaded = gate.skip ? undefined : (JSON.parse(fs.readFileSync(gate.file(VECTORS_REL), "utf8")) as { keyLabel: string; keyHex: string; vectors: Vector[] });
const vectors = () => loaded!;
const ofScheme = (s: Scheme) => vectors().vectors.filter((v) => v.scheme === s);
const b64 = (v: string | null | undefined) => (v === null || v === undefined ? undefined : Buffer.from(v, "base64"));

describe("the reference proxy's AES-GCM vectors, offline", () => {
  test("there are reference-scheme and spec-scheme vectors", opts, () => {
    assert.ok(ofScheme("reference").length >= 5);
    assert.ok(ofScheme("spec").length >= 5);
  });
  test("xksctl's HSM AAD equals hsmAadHex of every reference-scheme vector", opts, () => {
    for (const v of ofScheme("reference")) assert.equal(buildHsmAad(b64(v.additionalAuthenticatedData), b64(v.ciphertextMetadata)).toString("hex"), v.hsmAadHex, v.name!);
  });
  test("xksctl's CDIV equals ciphertextDataIntegrityValue of every reference-scheme vector", opts, () => {
    for (const v of ofScheme("reference")) {
      assert.equal(cdiv(b64(v.additionalAuthenticatedData), b64(v.ciphertextMetadata), b64(v.initializationVector)!, b64(v.ciphertext)!, b64(v.authenticationTag)!), v.ciphertextDataIntegrityValue, v.name!);
    }
  });
  test("xksctl does not produce the spec-scheme AAD where the two layouts differ", opts, () => {
    const spec = ofScheme("spec").filter((v) => v.additionalAuthenticatedData !== null);
    assert.ok(spec.length > 0);
    for (const v of spec) assert.notEqual(buildHsmAad(b64(v.additionalAuthenticatedData), b64(v.ciphertextMetadata)).toString("hex"), v.hsmAadHex, v.name!);
  });
  test("scripts/gen-aad-vectors.ts lays out both schemes exactly as these vectors do", opts, () => {
    for (const v of vectors().vectors) {
      assert.equal(hsmAad(v.scheme as Scheme, b64(v.additionalAuthenticatedData), b64(v.ciphertextMetadata)).toString("hex"), v.hsmAadHex, `${v.scheme}/${v.name}`);
    }
  });
});

describe("the reference proxy's AES-GCM vectors, through a proxy on SoftHSM", () => {
  let proxy: TestProxy | undefined;
  let h2: Agent | undefined;
  before(async () => {
    if (gate.skip) return;
    const token = createTestToken("xks-test");
    addKeys(token, [{ label: vectors().keyLabel, value: Buffer.from(vectors().keyHex, "hex") }]);
    proxy = await startTestProxy({
      token,
      patch: { external_key_stores: [{ uri_path_prefix: PREFIX, sigv4_access_key_id: CREDS.main.id, sigv4_secret_access_key: CREDS.main.secret, xks_key_id_set: [vectors().keyLabel] }] },
    });
    ({ h2 } = agents(fs.readFileSync(proxy.pki.caCert)));
  });
  after(async () => {
    await h2?.close();
    await proxy?.close();
  });

  test("decrypts every reference-scheme vector byte for byte", opts, async () => {
    const reference = ofScheme("reference");
    assert.ok(reference.length >= 5);
    for (const v of reference) {
      const fields: Record<string, unknown> = { ciphertext: v.ciphertext, initializationVector: v.initializationVector, authenticationTag: v.authenticationTag };
      if (v.additionalAuthenticatedData !== null) fields.additionalAuthenticatedData = v.additionalAuthenticatedData;
      if (v.ciphertextMetadata !== null) fields.ciphertextMetadata = v.ciphertextMetadata;
      const dec = await smithyPost(`${proxy!.url}${keyPath(PREFIX, vectors().keyLabel, "decrypt")}`, { requestMetadata: md("Decrypt"), encryptionAlgorithm: "AES_GCM", ...fields }, h2!, {
        accessKeyId: CREDS.main.id,
        secret: CREDS.main.secret,
      });
      assert.equal(dec.status, 200, `${v.name}: ${dec.text}`);
      assert.equal(dec.json.plaintext, v.plaintext, v.name!);
    }
  });
});
