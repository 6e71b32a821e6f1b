/**
 * The SigV4 verifier against signatures made by @smithy/signature-v4 (fixtures generated here by
 * code, not stored) and the AWS SigV4 test suite's get-vanilla / post-vanilla cases.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { parseAuthorization } from "../../../../src/proxy/sigv4/parse-authorization.js";
import { verifySigV4, type SignedRequest } from "../../../../src/proxy/sigv4/verify.js";

const cred = { accessKeyId: "AKIAXKSCTLUNITTEST234", secretAccessKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" };
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

async function smithySigned(opts: { path?: string; body?: string; region?: string; headers?: Record<string, string>; at?: number; applyChecksum?: boolean } = {}): Promise<SignedRequest> {
  const body = opts.body ?? '{"requestMetadata":{}}';
  const signer = new SignatureV4({ service: "kms-xks-proxy", region: opts.region ?? "us-east-1", credentials: cred, sha256: Sha256, applyChecksum: opts.applyChecksum ?? true });
  const req = await signer.sign(
    new HttpRequest({ method: "POST", hostname: "xks.example.com", path: opts.path ?? "/p/kms/xks/v1/keys/k1/encrypt", headers: { host: "xks.example.com", "content-type": "application/json", ...opts.headers }, body }),
    { signingDate: new Date(opts.at ?? T0) },
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  return { method: "POST", path: opts.path ?? "/p/kms/xks/v1/keys/k1/encrypt", query: "", headers, body: Buffer.from(body) };
}

const verify = (req: SignedRequest, over: Partial<Parameters<typeof verifySigV4>[1]> = {}) =>
  verifySigV4(req, { region: "us-east-1", service: "kms-xks-proxy", credentials: [cred], now: T0, ...over });

describe("accepts", () => {
  test("a smithy signature (signs content-type, host, x-amz-content-sha256, x-amz-date)", async () => {
    const req = await smithySigned();
    assert.match(String(req.headers.authorization), /SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date/);
    assert.deepEqual(verify(req), { ok: true, accessKeyId: cred.accessKeyId });
  });
  test("host taken from :authority when there is no host header (HTTP/2)", async () => {
    const req = await smithySigned();
    const { host, ...rest } = req.headers as Record<string, string>;
    assert.deepEqual(verify({ ...req, headers: { ...rest, ":authority": host! } }).ok, true);
  });
  test("a signed header whose value has tabs and runs of spaces (folded to one space, as SigV4 says)", async () => {
    const req = await smithySigned({ headers: { "x-xksctl-test": "  a b   c  d ", "x-xksctl-tab": "a\tb" } });
    assert.equal(req.headers["x-xksctl-test"], "  a b   c  d ");
    assert.equal(req.headers["x-xksctl-tab"], "a\tb");
    assert.deepEqual(verify(req), { ok: true, accessKeyId: cred.accessKeyId });
    assert.equal(verify({ ...req, headers: { ...req.headers, "x-xksctl-test": "a b c dd" } }).ok, false);
  });
  test("skew just under 5 minutes either way", async () => {
    assert.equal(verify(await smithySigned({ at: T0 - 299_000 })).ok, true);
    assert.equal(verify(await smithySigned({ at: T0 + 299_000 })).ok, true);
  });
  test("the empty-prefix path with a double slash, as smithy normalises it", async () => {
    // A client that joins endpoint "/" and path "/kms/..." sends "//kms/...", smithy signs "/kms/...".
    const req = await smithySigned({ path: "//kms/xks/v1/keys/k1/encrypt" });
    assert.equal(verify({ ...req, path: "//kms/xks/v1/keys/k1/encrypt" }).ok, true);
  });
  test("secrets of 43, 44 and 64 characters", async () => {
    for (const secretAccessKey of ["a".repeat(43), "b".repeat(44), "c/+=".repeat(16)]) {
      const c = { accessKeyId: cred.accessKeyId, secretAccessKey };
      const signer = new SignatureV4({ service: "kms-xks-proxy", region: "us-east-1", credentials: c, sha256: Sha256 });
      const r = await signer.sign(new HttpRequest({ method: "POST", hostname: "h", path: "/kms/xks/v1/health", headers: { host: "h" }, body: "{}" }), { signingDate: new Date(T0) });
      const res = verifySigV4({ method: "POST", path: "/kms/xks/v1/health", query: "", headers: r.headers, body: Buffer.from("{}") }, { region: "us-east-1", service: "kms-xks-proxy", credentials: [c], now: T0 });
      assert.equal(res.ok, true, `secret of ${secretAccessKey.length}`);
    }
  });
});

describe("rejects", () => {
  const reasons: [string, () => Promise<[SignedRequest, Partial<Parameters<typeof verifySigV4>[1]>?]>, RegExp][] = [
    ["skew just over 5 minutes in the past", async () => [await smithySigned({ at: T0 - 301_000 })], /5 minutes/],
    ["skew just over 5 minutes in the future", async () => [await smithySigned({ at: T0 + 301_000 })], /5 minutes/],
    ["another region", async () => [await smithySigned({ region: "eu-west-1" })], /region/],
    ["another service", async () => [await smithySigned(), { service: "kms" }], /service/],
    ["an unknown access key id", async () => [await smithySigned(), { credentials: [{ ...cred, accessKeyId: "OTHERKEYID2345672345" }] }], /unknown access key/],
    ["a tampered body", async () => {
      const r = await smithySigned();
      return [{ ...r, body: Buffer.from('{"requestMetadata":{"x":1}}') }];
    }, /x-amz-content-sha256|signature/],
    ["a tampered body signed without x-amz-content-sha256 (as curl signs)", async () => {
      const r = await smithySigned({ applyChecksum: false });
      assert.equal(r.headers["x-amz-content-sha256"], undefined);
      return [{ ...r, body: Buffer.from("{}") }];
    }, /signature does not match/],
    ["another path", async () => [{ ...(await smithySigned()), path: "/p/kms/xks/v1/keys/k2/encrypt" }], /signature does not match/],
    ["a signed header that is missing", async () => {
      const r = await smithySigned();
      const h = { ...(r.headers as Record<string, string>) };
      delete h["content-type"];
      return [{ ...r, headers: h }];
    }, /content-type is missing/],
  ];
  for (const [name, make, reason] of reasons) {
    test(name, async () => {
      const [req, over] = await make();
      const r = verify(req, over);
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, reason);
    });
  }
  test("SignedHeaders without host", async () => {
    const req = await smithySigned();
    const auth = String(req.headers.authorization).replace(/SignedHeaders=[^,]+/, "SignedHeaders=content-type;x-amz-date");
    const r = verify({ ...req, headers: { ...req.headers, authorization: auth } });
    assert.deepEqual(r, { ok: false, reason: "SignedHeaders must include host and x-amz-date" });
  });
  test("malformed Authorization headers", () => {
    for (const bad of [undefined, "", "Bearer x", "AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, Signature=00", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=Host, Signature=" + "0".repeat(64)]) {
      assert.equal(parseAuthorization(bad), undefined, String(bad));
    }
  });
});

describe("AWS SigV4 test suite", () => {
  // aws-sig-v4-test-suite: credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
  // 20150830T123600Z, us-east-1, service "service", host example.amazonaws.com.
  const suiteCred = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
  const now = Date.UTC(2015, 7, 30, 12, 36, 0);
  for (const [name, method, sig] of [
    ["get-vanilla", "GET", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"],
    ["post-vanilla", "POST", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"],
  ] as const) {
    test(name, () => {
      const r = verifySigV4(
        {
          method,
          path: "/",
          query: "",
          headers: {
            host: "example.amazonaws.com",
            "x-amz-date": "20150830T123600Z",
            authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${sig}`,
          },
          body: Buffer.alloc(0),
        },
        { region: "us-east-1", service: "service", credentials: [suiteCred], now },
      );
      assert.deepEqual(r, { ok: true, accessKeyId: "AKIDEXAMPLE" });
    });
  }
});
