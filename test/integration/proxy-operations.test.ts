/**
 * The four XKS operations end to end on a real SoftHSM token, signed by @smithy/signature-v4
 * and curl --aws-sigv4, over HTTP/2 and HTTP/1.1: what KMS would see on the wire.
 */
import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { Agent } from "undici";
import { hsmAad } from "../../scripts/gen-aad-vectors.js";
import { buildHsmAad } from "../../src/proxy/aad.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { agents, curlPost, smithyPost, type WireResponse } from "../helpers/sign.js";
import { VECTORS, keyPath, md, startTestProxy, type TestProxy } from "../helpers/proxy.js";

let proxy: TestProxy;
let h2: Agent;
let h1: Agent;
const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };

/** Every response must be one line of JSON. */
function assertOneLine(r: WireResponse): void {
  assert.ok(!r.text.includes("\n"), `response is not a single line: ${r.text}`);
}

before(async () => {
  proxy = await startTestProxy();
  ({ h2, h1 } = agents(readFileSync(proxy.pki.caCert)));
});
after(async () => {
  await h2.close();
  await h1.close();
  await proxy.close();
});


const url = (p: string) => `${proxy.url}${p}`;

async function encrypt(keyId: string, plaintext: Buffer, extra: Record<string, unknown> = {}, dispatcher = h2): Promise<WireResponse> {
  return smithyPost(url(keyPath(PREFIX, keyId, "encrypt")), { requestMetadata: md("Encrypt"), plaintext: plaintext.toString("base64"), encryptionAlgorithm: "AES_GCM", ...extra }, dispatcher, main);
}

async function decrypt(keyId: string, fields: Record<string, unknown>, dispatcher = h2): Promise<WireResponse> {
  return smithyPost(url(keyPath(PREFIX, keyId, "decrypt")), { requestMetadata: md("Decrypt"), encryptionAlgorithm: "AES_GCM", ...fields }, dispatcher, main);
}

describe("Encrypt and Decrypt", () => {
  for (const [name, dispatcher] of [["HTTP/2", () => h2], ["HTTP/1.1", () => h1]] as const) {
    test(`round trip with AAD and metadata over ${name} (smithy signer)`, async () => {
      const plaintext = randomBytes(32);
      const aad = Buffer.from("project=nile,department=marketing");
      const enc = await encrypt("foo", plaintext, { additionalAuthenticatedData: aad.toString("base64") }, dispatcher());
      assert.equal(enc.status, 200, enc.text);
      assertOneLine(enc);
      assert.equal(Buffer.from(enc.json.ciphertext as string, "base64").length, 32, "ciphertext has the plaintext's length");
      assert.equal(Buffer.from(enc.json.initializationVector as string, "base64").length, 12);
      assert.equal(Buffer.from(enc.json.authenticationTag as string, "base64").length, 16);
      assert.equal(enc.json.ciphertextMetadata, "djAuMC4x");
      assert.equal(enc.json.ciphertextDataIntegrityValue, undefined);
      const dec = await decrypt("foo", {
        ciphertext: enc.json.ciphertext,
        initializationVector: enc.json.initializationVector,
        authenticationTag: enc.json.authenticationTag,
        additionalAuthenticatedData: aad.toString("base64"),
        ciphertextMetadata: enc.json.ciphertextMetadata,
      }, dispatcher());
      assert.equal(dec.status, 200, dec.text);
      assertOneLine(dec);
      assert.deepEqual(Object.keys(dec.json), ["plaintext"]);
      assert.equal(dec.json.plaintext, plaintext.toString("base64"));
    });
  }

  for (const http of ["2", "1.1"] as const) {
    test(`curl --aws-sigv4 over HTTP/${http}: encrypt then decrypt`, async () => {
      const plaintext = Buffer.from("curl says hello");
      const enc = await curlPost(url(keyPath(PREFIX, "foo", "encrypt")), { requestMetadata: md(), plaintext: plaintext.toString("base64"), encryptionAlgorithm: "AES_GCM" }, { ...main, http, cacert: proxy.pki.caCert });
      assert.equal(enc.status, 200, enc.text);
      assert.equal(enc.httpVersion, http === "2" ? "2" : "1.1");
      const dec = await curlPost(
        url(keyPath(PREFIX, "foo", "decrypt")),
        { requestMetadata: md("Decrypt"), ciphertext: enc.json.ciphertext, initializationVector: enc.json.initializationVector, authenticationTag: enc.json.authenticationTag, ciphertextMetadata: enc.json.ciphertextMetadata, encryptionAlgorithm: "AES_GCM" },
        { ...main, http, cacert: proxy.pki.caCert },
      );
      assert.equal(dec.status, 200, dec.text);
      assert.equal(dec.json.plaintext, plaintext.toString("base64"));
    });
  }

  test("the empty prefix store answers on /kms/xks/v1 with its own credentials", async () => {
    const enc = await curlPost(url(keyPath("", "foo", "encrypt")), { requestMetadata: md(), plaintext: "AAAA", encryptionAlgorithm: "AES_GCM" }, { accessKeyId: CREDS.other.id, secret: CREDS.other.secret, http: "2", cacert: proxy.pki.caCert });
    assert.equal(enc.status, 200, enc.text);
  });

  test("CDIV is SHA-256(AAD || CM || IV || ciphertext || tag) and comes with the response", async () => {
    const aad = Buffer.from("context");
    const enc = await encrypt("foo", Buffer.from("data key"), { additionalAuthenticatedData: aad.toString("base64"), ciphertextDataIntegrityValueAlgorithm: "SHA_256" });
    assert.equal(enc.status, 200, enc.text);
    const { createHash } = await import("node:crypto");
    const expected = createHash("sha256")
      .update(aad)
      .update(Buffer.from("djAuMC4x", "base64"))
      .update(Buffer.from(enc.json.initializationVector as string, "base64"))
      .update(Buffer.from(enc.json.ciphertext as string, "base64"))
      .update(Buffer.from(enc.json.authenticationTag as string, "base64"))
      .digest("base64");
    assert.equal(enc.json.ciphertextDataIntegrityValue, expected);
  });

  test("4300-byte plaintext (the spec minimum) round-trips", async () => {
    const plaintext = randomBytes(4300);
    const enc = await encrypt("foo", plaintext);
    assert.equal(enc.status, 200, enc.text);
    const dec = await decrypt("foo", { ciphertext: enc.json.ciphertext, initializationVector: enc.json.initializationVector, authenticationTag: enc.json.authenticationTag, ciphertextMetadata: enc.json.ciphertextMetadata });
    assert.equal(dec.json.plaintext, plaintext.toString("base64"));
  });

  test("8192-byte AAD (the spec minimum) is accepted", async () => {
    const enc = await encrypt("foo", Buffer.from("x"), { additionalAuthenticatedData: randomBytes(8192).toString("base64") });
    assert.equal(enc.status, 200, enc.text);
  });

  test("a 16-byte IV is accepted on decrypt", async () => {
    const key = Buffer.from(VECTORS.keyHex, "hex");
    const iv = randomBytes(16);
    const aad = Buffer.from("sixteen");
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(buildHsmAad(aad, undefined));
    const ct = Buffer.concat([cipher.update("sixteen-byte iv"), cipher.final()]);
    const dec = await decrypt(VECTORS.keyLabel, { ciphertext: ct.toString("base64"), initializationVector: iv.toString("base64"), authenticationTag: cipher.getAuthTag().toString("base64"), additionalAuthenticatedData: aad.toString("base64") });
    assert.equal(dec.status, 200, dec.text);
    assert.equal(Buffer.from(dec.json.plaintext as string, "base64").toString(), "sixteen-byte iv");
  });

  test("unknown kmsOperation and unknown requestMetadata fields are accepted", async () => {
    const r = await smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), { requestMetadata: md("SomeFutureOperation", { nitroEnclaveAttestation: "x", principalTags: { a: "b" } }), plaintext: "AAAA", encryptionAlgorithm: "AES_GCM", futureField: 1 }, h2, main);
    assert.equal(r.status, 200, r.text);
  });

  test("the second credential set of a prefix (rotation) is accepted", async () => {
    const r = await smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), { requestMetadata: md(), plaintext: "AAAA", encryptionAlgorithm: "AES_GCM" }, h2, { accessKeyId: CREDS.rotated.id, secret: CREDS.rotated.secret });
    assert.equal(r.status, 200, r.text);
  });
});

describe("the project's AES-GCM vectors (the reference proxy's HSM AAD layout, scripts/gen-aad-vectors.ts)", () => {
  const b64 = (v: string | null | undefined) => (v === null || v === undefined ? undefined : Buffer.from(v, "base64"));
  const fieldsOf = (v: Record<string, string | null>) => {
    const fields: Record<string, unknown> = { ciphertext: v.ciphertext, initializationVector: v.initializationVector, authenticationTag: v.authenticationTag };
    if (v.additionalAuthenticatedData !== null) fields.additionalAuthenticatedData = v.additionalAuthenticatedData;
    if (v.ciphertextMetadata !== null) fields.ciphertextMetadata = v.ciphertextMetadata;
    return fields;
  };
  /** The XKS API's limit; larger metadata is refused before any AAD is built. */
  const apiMetadata = (v: Record<string, string | null>) => (b64(v.ciphertextMetadata)?.length ?? 0) <= 20;
  const reference = VECTORS.vectors.filter((v) => v.scheme === "reference");
  test("there are reference vectors to check, and one over the metadata limit", () => {
    assert.ok(reference.filter(apiMetadata).length >= 8);
    assert.ok(reference.some((v) => !apiMetadata(v)));
  });
  for (const v of reference.filter(apiMetadata)) {
    test(`decrypts ${v.name} byte for byte`, async () => {
      const dec = await decrypt(VECTORS.keyLabel, fieldsOf(v));
      assert.equal(dec.status, 200, dec.text);
      assert.equal(dec.json.plaintext, v.plaintext);
    });
  }
  for (const v of reference.filter((x) => !apiMetadata(x))) {
    test(`refuses ${v.name}: metadata over 20 bytes is a 400 ValidationException`, async () => {
      const dec = await decrypt(VECTORS.keyLabel, fieldsOf(v));
      assert.equal(dec.status, 400, dec.text);
      assert.equal(dec.json.errorName, "ValidationException");
      assert.equal(dec.json.plaintext, undefined);
    });
  }
  test("a ciphertext bound to the spec's layout instead is refused as InvalidCiphertextException", async () => {
    const differing = VECTORS.vectors.filter((v) => v.scheme === "spec" && apiMetadata(v) && reference.find((r) => r.name === v.name)!.hsmAadHex !== v.hsmAadHex);
    assert.ok(differing.length >= 5);
    for (const v of differing) {
      const dec = await decrypt(VECTORS.keyLabel, fieldsOf(v));
      assert.equal(dec.status, 400, `${v.name}: ${dec.text}`);
      assert.equal(dec.json.errorName, "InvalidCiphertextException", `${v.name}`);
    }
  });
  for (const [name, aad] of [["no AAD", undefined], ["empty AAD", Buffer.alloc(0)], ["an AAD", Buffer.from("project=nile,department=marketing")]] as const) {
    test(`encrypt with ${name}: node:crypto opens the result with the generator's reference layout`, async () => {
      const plaintext = Buffer.from("bound to the HSM AAD");
      const enc = await encrypt(VECTORS.keyLabel, plaintext, aad === undefined ? {} : { additionalAuthenticatedData: aad.toString("base64") });
      assert.equal(enc.status, 200, enc.text);
      const d = createDecipheriv("aes-256-gcm", Buffer.from(VECTORS.keyHex, "hex"), b64(enc.json.initializationVector as string)!);
      d.setAAD(hsmAad("reference", aad, b64(enc.json.ciphertextMetadata as string | undefined)));
      d.setAuthTag(b64(enc.json.authenticationTag as string)!);
      assert.deepEqual(Buffer.concat([d.update(b64(enc.json.ciphertext as string)!), d.final()]), plaintext);
    });
  }
});

describe("GetKeyMetadata", () => {
  test("an AES-256 key reports AES_256, its usages and ENABLED", async () => {
    const r = await smithyPost(url(keyPath(PREFIX, "foo", "metadata")), { requestMetadata: { awsPrincipalArn: "arn:aws:iam::1:root", kmsOperation: "CreateKey", kmsRequestId: "r1" } }, h2, main);
    assert.equal(r.status, 200, r.text);
    assertOneLine(r);
    assert.equal(r.json.keySpec, "AES_256");
    assert.equal(r.json.keyStatus, "ENABLED");
    assert.ok((r.json.keyUsage as string[]).includes("ENCRYPT") && (r.json.keyUsage as string[]).includes("DECRYPT"));
  });

  test("DescribeKey with kmsKeyArn and kmsViaService (as the AWS test client sends) is accepted", async () => {
    const r = await smithyPost(url(keyPath(PREFIX, "foo", "metadata")), { requestMetadata: md("DescribeKey", { kmsViaService: "ebs" }) }, h2, main);
    assert.equal(r.status, 200, r.text);
  });

  test("an encrypt-only key lacks DECRYPT", async () => {
    const r = await smithyPost(url(keyPath(PREFIX, "enc-only", "metadata")), { requestMetadata: md("CreateKey") }, h2, main);
    const usage = r.json.keyUsage as string[];
    assert.ok(usage.includes("ENCRYPT") && !usage.includes("DECRYPT"), usage.join(","));
  });

  test("a disabled key reports DISABLED", async () => {
    const r = await smithyPost(url(keyPath(PREFIX, "disabled-key", "metadata")), { requestMetadata: md("CreateKey") }, h2, main);
    assert.equal(r.json.keyStatus, "DISABLED");
  });
});

describe("GetHealthStatus", () => {
  test("reports the token and ACTIVE after a real HSM round trip", async () => {
    const r = await smithyPost(url(`${PREFIX}/kms/xks/v1/health`), { requestMetadata: { kmsRequestId: "h1", kmsOperation: "KmsHealthCheck" } }, h2, main);
    assert.equal(r.status, 200, r.text);
    assertOneLine(r);
    assert.equal(r.json.xksProxyFleetSize, 1);
    assert.equal(r.json.xksProxyVendor, "xksctl");
    assert.match(r.json.xksProxyModel as string, /^xksctl \d+\.\d+\.\d+/);
    assert.match(r.json.ekmVendor as string, /SoftHSM.*serial number: /);
    const fleet = r.json.ekmFleetDetails as { id: string; model: string; healthStatus: string }[];
    assert.equal(fleet.length, 1);
    assert.equal(fleet[0]!.id, "xks-test");
    assert.equal(fleet[0]!.healthStatus, "ACTIVE");
    assert.ok(proxy.server.health.checks >= 1, "a deep check ran");
  });
});

describe("logging", () => {
  test("one structured line per request, without plaintext, secrets or Authorization", async () => {
    const secretPlain = Buffer.from("TOP-SECRET-PLAINTEXT-MARKER");
    const before = proxy.logs.length;
    const r = await encrypt("foo", secretPlain);
    assert.equal(r.status, 200);
    const lines = proxy.logs.slice(before).filter((l) => l.msg === "request");
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    for (const k of ["kmsRequestId", "operation", "store", "keyId", "status", "durationMs"]) assert.ok(k in line, `log has ${k}`);
    assert.equal(line.operation, "Encrypt");
    assert.equal(line.store, PREFIX);
    assert.equal(line.keyId, "foo");
    const raw = proxy.rawLog();
    for (const forbidden of [secretPlain.toString(), secretPlain.toString("base64"), CREDS.main.secret, "AWS4-HMAC-SHA256", proxy.token.pin === "1234" ? '"1234"' : proxy.token.pin]) {
      assert.ok(!raw.includes(forbidden), `log must not contain ${forbidden}`);
    }
  });
});
