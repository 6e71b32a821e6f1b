/**
 * The live probe's SigV4 signer (built on src/proxy/sigv4/*) signs exactly as @smithy/signature-v4
 * (the AWS SDK's signer) does for KMS's headers, and the proxy's verifier accepts what it signs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { verifySigV4 } from "../../../src/proxy/sigv4/verify.js";
import { amzDate, signKmsRequest } from "../../../src/workflows/doctor/sigv4.js";
import { CREDS } from "../../helpers/settings.js";
import { smithySign } from "../../helpers/sign.js";

const NOW = Date.UTC(2026, 11, 1, 21, 30, 5);

/** What @smithy/signature-v4 signs for the probe's headers: host and x-amz-date, no checksum header. */
const smithySignature = async (url: string, body: string, region: string): Promise<string> =>
  String((await smithySign(url, body, { accessKeyId: CREDS.main.id, secret: CREDS.main.secret, region, applyChecksum: false, contentHeaders: false, signingDate: new Date(NOW) })).authorization);

const cases = [
  ["https://xks.example.com/kms/xks/v1/health", "us-east-1"],
  ["https://xks.example.com:8443/bank/xks/kms/xks/v1/keys/key-1/encrypt", "eu-west-1"],
  ["https://127.0.0.1:18443/a/b-c_d/kms/xks/v1/keys/k.v2/metadata", "ap-southeast-2"],
] as const;

for (const [url, region] of cases) {
  test(`same Authorization as @smithy/signature-v4: ${url} (${region})`, async () => {
    const body = JSON.stringify({ requestMetadata: { kmsRequestId: "r-1", kmsOperation: "KmsHealthCheck" } });
    const ours = signKmsRequest({ method: "POST", url, body, accessKeyId: CREDS.main.id, secret: CREDS.main.secret, region, now: NOW });
    assert.equal(ours["x-amz-date"], "20261201T213005Z");
    assert.equal(ours.authorization, await smithySignature(url, body, region));
    assert.match(ours.authorization!, new RegExp(`^AWS4-HMAC-SHA256 Credential=${CREDS.main.id}/20261201/${region}/kms-xks-proxy/aws4_request, SignedHeaders=host;x-amz-date, Signature=[0-9a-f]{64}$`));
  });
}

test("the proxy's verifier accepts the signature over HTTP/2 (:authority) and refuses a wrong secret", () => {
  const url = "https://localhost:8443/p/kms/xks/v1/health";
  const body = "{}";
  const verify = (secret: string) => {
    const h = signKmsRequest({ method: "POST", url, body, accessKeyId: CREDS.main.id, secret, region: "us-east-1", now: NOW });
    return verifySigV4(
      { method: "POST", path: "/p/kms/xks/v1/health", query: "", headers: { ":authority": "localhost:8443", "x-amz-date": h["x-amz-date"], authorization: h.authorization }, body: Buffer.from(body) },
      { region: "us-east-1", service: "kms-xks-proxy", credentials: [{ accessKeyId: CREDS.main.id, secretAccessKey: CREDS.main.secret }], now: NOW + 1000 },
    );
  };
  assert.deepEqual(verify(CREDS.main.secret), { ok: true, accessKeyId: CREDS.main.id });
  assert.deepEqual(verify(CREDS.other.secret), { ok: false, reason: "signature does not match" });
});

test("amzDate is the SigV4 basic ISO 8601 form", () => {
  assert.equal(amzDate(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), "20240102T030405Z");
});
