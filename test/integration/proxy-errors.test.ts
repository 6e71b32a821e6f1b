/**
 * Each reachable error of the XKS spec table (xks-api.md §7), in the spec's check order, as the
 * bytes KMS would receive: status, single-line JSON, errorName and a safe errorMessage.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import { after, before, describe, test } from "node:test";
import type { Agent } from "undici";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { agents, send, smithyPost, type SignOptions, type WireResponse } from "../helpers/sign.js";
import { keyPath, md, startTestProxy, type TestProxy } from "../helpers/proxy.js";

let proxy: TestProxy;
let h2: Agent;
const main: SignOptions = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };

before(async () => {
  proxy = await startTestProxy();
  ({ h2 } = agents(readFileSync(proxy.pki.caCert)));
});
after(async () => {
  await h2.close();
  await proxy.close();
});

const url = (p: string) => `${proxy.url}${p}`;

/** Asserts an XKS error response as KMS parses it. */
function assertXksError(r: WireResponse, status: number, errorName: string): void {
  assert.equal(r.status, status, r.text);
  assert.ok(!r.text.includes("\n"), "single-line body");
  assert.equal(r.headers["content-type"], "application/json");
  assert.equal(r.json.errorName, errorName, r.text);
  const msg = r.json.errorMessage as string;
  assert.equal(typeof msg, "string");
  assert.ok(msg.length < 512 && /^[\x20-\x7e]*$/.test(msg), `errorMessage is < 512 printable ASCII: ${msg}`);
}

const encBody = (extra: Record<string, unknown> = {}) => ({ requestMetadata: md(), plaintext: "AAAA", encryptionAlgorithm: "AES_GCM", ...extra });

async function validCiphertext(keyId = "foo", aad?: Buffer) {
  const r = await smithyPost(url(keyPath(PREFIX, keyId, "encrypt")), encBody(aad ? { additionalAuthenticatedData: aad.toString("base64") } : {}), h2, main);
  assert.equal(r.status, 200, r.text);
  return r.json as { ciphertext: string; initializationVector: string; authenticationTag: string; ciphertextMetadata: string };
}

const decrypt = (keyId: string, fields: Record<string, unknown>) =>
  smithyPost(url(keyPath(PREFIX, keyId, "decrypt")), { requestMetadata: md("Decrypt"), encryptionAlgorithm: "AES_GCM", ...fields }, h2, main);

describe("routing: 404 InvalidUriPathException and 405", () => {
  test("an unknown prefix is 404 even when validly signed (routing before SigV4)", async () => {
    const r = await smithyPost(url(`${PREFIX}/invalid/kms/xks/v1/keys/foo/encrypt`), encBody(), h2, main);
    assertXksError(r, 404, "InvalidUriPathException");
  });
  test("an unknown operation is 404", async () => {
    assertXksError(await smithyPost(url(`${PREFIX}/kms/xks/v1/keys/foo/rotate`), encBody(), h2, main), 404, "InvalidUriPathException");
  });
  test("GET on an API path is 405 with Allow: POST and a JSON body", async () => {
    const r = await send(url(keyPath(PREFIX, "foo", "encrypt")), "GET", {}, undefined, h2);
    assertXksError(r, 405, "ValidationException");
    assert.equal(r.headers.allow, "POST");
  });
});

describe("401 AuthenticationFailedException", () => {
  const cases: [string, () => Promise<WireResponse>][] = [
    ["no Authorization header", () => send(url(keyPath(PREFIX, "foo", "encrypt")), "POST", { "content-type": "application/json" }, JSON.stringify(encBody()), h2)],
    ["a wrong secret", () => smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), encBody(), h2, { ...main, secret: CREDS.other.secret })],
    ["an unknown access key id (Invalid<akid>)", () => smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), encBody(), h2, { ...main, accessKeyId: `Invalid${CREDS.main.id}` })],
    ["another store's credentials", () => smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), encBody(), h2, { accessKeyId: CREDS.other.id, secret: CREDS.other.secret })],
    ["another region in the scope", () => smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), encBody(), h2, { ...main, region: "eu-west-1" })],
    ["another service in the scope", () => smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), encBody(), h2, { ...main, service: "kms" })],
    ["a body changed after signing", () => {
      const body = encBody();
      return smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), body, h2, { ...main, sendBody: JSON.stringify({ ...body, plaintext: "BBBB" }) });
    }],
    ["X-Amz-Date 5 min 30 s in the past", () => smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), encBody(), h2, { ...main, signingDate: new Date(Date.now() - 330_000) })],
    ["X-Amz-Date 5 min 30 s in the future", () => smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), encBody(), h2, { ...main, signingDate: new Date(Date.now() + 330_000) })],
  ];
  for (const [name, call] of cases) test(name, async () => assertXksError(await call(), 401, "AuthenticationFailedException"));

  test("X-Amz-Date 4 min 30 s off either way is accepted", async () => {
    for (const off of [-270_000, 270_000]) {
      const r = await smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), encBody(), h2, { ...main, signingDate: new Date(Date.now() + off) });
      assert.equal(r.status, 200, r.text);
    }
  });

  test("a signature over another :authority than the one sent fails", async () => {
    // Sign for host "other.example", send to localhost: :authority differs from the signed host.
    const { HttpRequest } = await import("@smithy/protocol-http");
    const { SignatureV4 } = await import("@smithy/signature-v4");
    const { Sha256 } = await import("@aws-crypto/sha256-js");
    const body = JSON.stringify(encBody());
    const signed = await new SignatureV4({ service: "kms-xks-proxy", region: "us-east-1", credentials: { accessKeyId: CREDS.main.id, secretAccessKey: CREDS.main.secret }, sha256: Sha256 }).sign(
      new HttpRequest({ method: "POST", hostname: "other.example", path: keyPath(PREFIX, "foo", "encrypt"), headers: { host: "other.example", "content-type": "application/json" }, body }),
    );
    const headers = { ...signed.headers };
    delete headers.host;
    assertXksError(await send(url(keyPath(PREFIX, "foo", "encrypt")), "POST", headers, body, h2), 401, "AuthenticationFailedException");
  });

  test("over HTTP/2 the signed host is checked against :authority (no host header sent)", async () => {
    const r = await smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), encBody(), h2, main);
    assert.equal(r.status, 200, r.text);
  });

  test("the 401 reason is logged, never sent", async () => {
    const r = await smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), encBody(), h2, { ...main, region: "eu-west-1" });
    assert.doesNotMatch(r.text, /region/);
    assert.ok(proxy.logs.some((l) => l.status === 401 && String(l.detail).includes("region")));
  });
});

describe("400 ValidationException", () => {
  const cases: [string, string | Record<string, unknown>][] = [
    ["a body that is not JSON", "{not json"],
    ["a JSON array", "[]"],
    ["no requestMetadata", { plaintext: "AAAA", encryptionAlgorithm: "AES_GCM" }],
    ["no kmsRequestId", { ...encBody(), requestMetadata: { awsPrincipalArn: "a", kmsKeyArn: "k", kmsOperation: "Encrypt" } }],
    ["no plaintext", { requestMetadata: md(), encryptionAlgorithm: "AES_GCM" }],
    ["plaintext that is not Base64", encBody({ plaintext: "not base64!" })],
    ["URL-safe Base64", encBody({ plaintext: "-_-_" })],
    ["a wrong encryptionAlgorithm", encBody({ encryptionAlgorithm: "AES_CBC" })],
    ["a wrong CDIV algorithm", encBody({ ciphertextDataIntegrityValueAlgorithm: "MD5" })],
    ["a non-string plaintext", encBody({ plaintext: 42 })],
  ];
  for (const [name, body] of cases) {
    test(`Encrypt with ${name}`, async () => assertXksError(await smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), body, h2, main), 400, "ValidationException"));
  }
  test("a wrong Content-Type", async () => {
    assertXksError(await smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), encBody(), h2, { ...main, headers: { "content-type": "text/plain" } }), 400, "ValidationException");
  });
  test("Decrypt with an IV of the wrong length", async () => {
    const c = await validCiphertext();
    assertXksError(await decrypt("foo", { ...c, initializationVector: randomBytes(8).toString("base64") }), 400, "ValidationException");
  });
  test("Decrypt with a tag of the wrong length", async () => {
    const c = await validCiphertext();
    assertXksError(await decrypt("foo", { ...c, authenticationTag: randomBytes(12).toString("base64") }), 400, "ValidationException");
  });
  test("Decrypt with ciphertextMetadata over 20 bytes", async () => {
    const c = await validCiphertext();
    assertXksError(await decrypt("foo", { ...c, ciphertextMetadata: randomBytes(21).toString("base64") }), 400, "ValidationException");
  });
  test("GetHealthStatus with {} and with empty requestMetadata (as the AWS test client sends)", async () => {
    for (const body of [{}, { requestMetadata: {} }]) {
      assertXksError(await smithyPost(url(`${PREFIX}/kms/xks/v1/health`), body, h2, main), 400, "ValidationException");
    }
  });
});

describe("404 KeyNotFoundException", () => {
  test("a key id outside the store's xks_key_id_set", async () => {
    assertXksError(await smithyPost(url(keyPath(PREFIX, "bar", "encrypt")), encBody(), h2, main), 404, "KeyNotFoundException");
  });
  test("a key id in the set but not in the HSM", async () => {
    assertXksError(await smithyPost(url(keyPath(PREFIX, "not-in-hsm", "metadata")), { requestMetadata: md("CreateKey") }, h2, main), 404, "KeyNotFoundException");
  });
});

describe("400 InvalidStateException", () => {
  test("Encrypt and Decrypt on a disabled key", async () => {
    assertXksError(await smithyPost(url(keyPath(PREFIX, "disabled-key", "encrypt")), encBody(), h2, main), 400, "InvalidStateException");
    const c = await validCiphertext();
    assertXksError(await decrypt("disabled-key", c), 400, "InvalidStateException");
  });
});

describe("400 InvalidCiphertextException", () => {
  const flip = (b64: string, i = 0) => {
    const b = Buffer.from(b64, "base64");
    b[i] = b[i]! ^ 1;
    return b.toString("base64");
  };
  test("a tampered tag, IV, ciphertext, metadata or AAD fails; the original decrypts", async () => {
    const aad = Buffer.from("bound context");
    const c = await validCiphertext("foo", aad);
    const good = { ...c, additionalAuthenticatedData: aad.toString("base64") };
    assert.equal((await decrypt("foo", good)).status, 200);
    const tampered: Record<string, unknown>[] = [
      { ...good, authenticationTag: flip(c.authenticationTag) },
      { ...good, initializationVector: flip(c.initializationVector) },
      { ...good, ciphertext: flip(c.ciphertext) },
      { ...good, ciphertextMetadata: flip(c.ciphertextMetadata) },
      { ...good, ciphertextMetadata: undefined },
      { ...good, additionalAuthenticatedData: flip(aad.toString("base64")) },
      { ...good, additionalAuthenticatedData: undefined },
    ];
    for (const t of tampered) assertXksError(await decrypt("foo", t), 400, "InvalidCiphertextException");
  });
  test("present-but-empty AAD differs from absent AAD (reference layout)", async () => {
    const c = await validCiphertext("foo", Buffer.alloc(0));
    assert.equal((await decrypt("foo", { ...c, additionalAuthenticatedData: "" })).status, 200);
    assertXksError(await decrypt("foo", c), 400, "InvalidCiphertextException");
  });
});

describe("400 InvalidKeyUsageException", () => {
  test("Decrypt with an encrypt-only key", async () => {
    const c = await validCiphertext("enc-only");
    assertXksError(await decrypt("enc-only", c), 400, "InvalidKeyUsageException");
  });
  test("Encrypt with a decrypt-only key", async () => {
    assertXksError(await smithyPost(url(keyPath(PREFIX, "dec-only", "encrypt")), encBody(), h2, main), 400, "InvalidKeyUsageException");
  });
  test("Encrypt with CDIV on an encrypt-only key (the self-check decrypt is not allowed)", async () => {
    assertXksError(await smithyPost(url(keyPath(PREFIX, "enc-only", "encrypt")), encBody({ ciphertextDataIntegrityValueAlgorithm: "SHA_256" }), h2, main), 400, "InvalidKeyUsageException");
  });
});

describe("501 UnsupportedOperationException", () => {
  test("plaintext over [limits] max_plaintext_in_base64", async () => {
    assertXksError(await smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), encBody({ plaintext: randomBytes(6200).toString("base64") }), h2, main), 501, "UnsupportedOperationException");
  });
  test("AAD over [limits] max_aad_in_base64 (12 289 raw bytes)", async () => {
    assertXksError(await smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), encBody({ additionalAuthenticatedData: randomBytes(12289).toString("base64") }), h2, main), 501, "UnsupportedOperationException");
  });
  test("a body over 64 KiB is refused before it is read whole", async () => {
    const big = encBody({ padding: "x".repeat(70_000) });
    assertXksError(await smithyPost(url(keyPath(PREFIX, "foo", "encrypt")), big, h2, main), 501, "UnsupportedOperationException");
  });
  test("a body over 64 KiB without content-length (HTTP/2 stream) is refused", async () => {
    const client = http2.connect(proxy.url, { ca: readFileSync(proxy.pki.caCert) });
    const req = client.request({ ":method": "POST", ":path": keyPath(PREFIX, "foo", "encrypt"), "content-type": "application/json" });
    let text = "";
    let status = 0;
    req.on("response", (h) => (status = Number(h[":status"])));
    req.setEncoding("utf8");
    req.on("data", (d: string) => (text += d));
    for (let i = 0; i < 20; i++) req.write(Buffer.alloc(8192, 0x20));
    req.end();
    await new Promise((r) => req.on("close", r));
    client.close();
    assert.equal(status, 501, text);
    assert.equal(JSON.parse(text).errorName, "UnsupportedOperationException");
  });
});
