/**
 * The HSM AAD layout and CDIV against the project's own vectors (test/fixtures/vectors, made by
 * scripts/gen-aad-vectors.ts independently of src/proxy/aad.ts) and the spec's CDIV example.
 * The reference proxy's own vectors are checked by test/compat/reference-vectors.test.ts.
 */
import assert from "node:assert/strict";
import { createDecipheriv } from "node:crypto";
import fs from "node:fs";
import { test } from "node:test";
import { renderAadVectors, VECTORS_FILE } from "../../../scripts/gen-aad-vectors.js";
import { buildHsmAad, cdiv } from "../../../src/proxy/aad.js";
import { VECTORS } from "../../helpers/proxy.js";

const b64 = (v: string | null | undefined) => (v === null || v === undefined ? undefined : Buffer.from(v, "base64"));

test("the committed vectors are exactly what scripts/gen-aad-vectors.ts makes (no hand edits)", () => {
  assert.equal(fs.readFileSync(VECTORS_FILE, "utf8"), renderAadVectors(), "run: node --import tsx scripts/gen-aad-vectors.ts");
});

test("the vectors cover absent, empty and long AAD, no/20/255-byte metadata, 1-byte and multi-KiB plaintext, in both schemes", () => {
  for (const scheme of ["reference", "spec"]) {
    const vs = VECTORS.vectors.filter((v) => v.scheme === scheme);
    const has = (what: string, pred: (aad?: Buffer, cm?: Buffer, pt?: Buffer) => boolean) =>
      assert.ok(vs.some((v) => pred(b64(v.additionalAuthenticatedData), b64(v.ciphertextMetadata), b64(v.plaintext))), `${scheme}: ${what}`);
    has("no AAD, no metadata", (a, m) => a === undefined && m === undefined);
    has("empty AAD present", (a) => a?.length === 0);
    has("AAD without metadata", (a, m) => (a?.length ?? 0) > 0 && m === undefined);
    has("AAD with metadata", (a, m) => (a?.length ?? 0) > 0 && (m?.length ?? 0) > 0);
    has("metadata only", (a, m) => a === undefined && (m?.length ?? 0) > 0);
    has("8192-byte AAD", (a) => (a?.length ?? 0) >= 8192);
    has("20-byte metadata (the API maximum)", (_a, m) => m?.length === 20);
    has("255-byte metadata (the u8 maximum)", (_a, m) => m?.length === 255);
    has("1-byte plaintext", (_a, _m, p) => p?.length === 1);
    has("multi-KiB plaintext", (_a, _m, p) => (p?.length ?? 0) >= 4096);
  }
});

test("every vector opens with node:crypto under its hsmAadHex (the AAD listed is the AAD the ciphertext is bound to)", () => {
  const key = Buffer.from(VECTORS.keyHex, "hex");
  assert.equal(key.length, 32);
  for (const v of VECTORS.vectors) {
    const d = createDecipheriv("aes-256-gcm", key, b64(v.initializationVector)!);
    d.setAAD(Buffer.from(v.hsmAadHex!, "hex"));
    d.setAuthTag(b64(v.authenticationTag)!);
    const pt = Buffer.concat([d.update(b64(v.ciphertext)!), d.final()]);
    assert.equal(pt.toString("base64"), v.plaintext, `${v.scheme}/${v.name}`);
  }
});

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
  const spec = VECTORS.vectors.filter((x) => x.scheme === "spec" && x.additionalAuthenticatedData !== null);
  assert.ok(spec.length >= 5);
  for (const v of spec) assert.notEqual(buildHsmAad(b64(v.additionalAuthenticatedData), b64(v.ciphertextMetadata)).toString("hex"), v.hsmAadHex, `${v.name}`);
});

test("the spec's CDIV example (xks-api.md §6.3)", () => {
  const value = cdiv(Buffer.from("project=nile,department=marketing"), Buffer.from("key_version=1"), Buffer.from("HMrlRw85cAJUd5Ax", "base64"), Buffer.from("ghxkK1txeDNn3q8Y", "base64"), Buffer.from("vBxN2ncH1oEkR8WVXpmyYQ==", "base64"));
  assert.equal(value, "qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=");
});

test("absent and present-but-empty AAD differ; neither field gives 00 00 00", () => {
  assert.equal(buildHsmAad(undefined, undefined).toString("hex"), "000000");
  assert.equal(buildHsmAad(Buffer.alloc(0), undefined).length, 2 + 32 + 1);
});
