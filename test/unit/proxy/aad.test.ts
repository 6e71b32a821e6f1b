/** The HSM AAD layout and CDIV against the shared vectors and the spec's CDIV example. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildHsmAad, cdiv } from "../../../src/proxy/aad.js";
import { VECTORS } from "../../helpers/proxy.js";

const b64 = (v: string | null | undefined) => (v === null || v === undefined ? undefined : Buffer.from(v, "base64"));

for (const v of VECTORS.vectors.filter((x) => x.scheme === "reference")) {
  test(`reference HSM AAD of ${v.name} matches hsmAadHex`, () => {
    assert.equal(buildHsmAad(b64(v.additionalAuthenticatedData), b64(v.ciphertextMetadata)).toString("hex"), v.hsmAadHex);
  });
  test(`CDIV of ${v.name} matches the vector`, () => {
    const value = cdiv(b64(v.additionalAuthenticatedData), b64(v.ciphertextMetadata), b64(v.initializationVector)!, b64(v.ciphertext)!, b64(v.authenticationTag)!);
    assert.equal(value, v.ciphertextDataIntegrityValue);
  });
}

test("spec vectors use another layout, which xksctl does not produce", () => {
  const spec = VECTORS.vectors.filter((x) => x.scheme === "spec" && x.additionalAuthenticatedData);
  assert.ok(spec.length > 0);
  for (const v of spec) assert.notEqual(buildHsmAad(b64(v.additionalAuthenticatedData), b64(v.ciphertextMetadata)).toString("hex"), v.hsmAadHex);
});

test("the spec's CDIV example (xks-api.md §6.3)", () => {
  const value = cdiv(Buffer.from("project=nile,department=marketing"), Buffer.from("key_version=1"), Buffer.from("HMrlRw85cAJUd5Ax", "base64"), Buffer.from("ghxkK1txeDNn3q8Y", "base64"), Buffer.from("vBxN2ncH1oEkR8WVXpmyYQ==", "base64"));
  assert.equal(value, "qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=");
});

test("absent and present-but-empty AAD differ; neither field gives 00 00 00", () => {
  assert.equal(buildHsmAad(undefined, undefined).toString("hex"), "000000");
  assert.equal(buildHsmAad(Buffer.alloc(0), undefined).length, 2 + 32 + 1);
});
