/** Credential formats (KMS API, xks-api.md §8.1), key ids (§3) and the AWS steps. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import { ACCESS_KEY_ID_RE, SECRET_RE } from "../../../src/rules.js";
import { awsStepsScript, keyPolicy, normaliseEndpoint, renderAwsSteps } from "../../../src/workflows/aws-steps.js";
import { base32, newCredential } from "../../../src/config/creds.js";
import { isXksctlError } from "../../../src/errors.js";
import { assertKeyId } from "../../../src/rules.js";
import { writeCommentedSettings } from "../../helpers/operator.js";
import { tempDir } from "../../helpers/tmp.js";

let dir: string;
before(() => (dir = tempDir("xksctl-aws-")));

describe("credentials", () => {
  test("base32 is RFC 4648 (test vectors)", () => {
    assert.equal(base32(Buffer.from("foobar")), "MZXW6YTBOI");
    assert.equal(base32(Buffer.from("f")), "MY");
    assert.equal(base32(Buffer.alloc(0)), "");
  });

  test("1000 credentials match KMS's formats, 128-bit ids and 256-bit secrets, all distinct", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const c = newCredential(crypto.randomBytes);
      assert.match(c.accessKeyId, ACCESS_KEY_ID_RE);
      assert.equal(c.accessKeyId.length, 26);
      assert.match(c.secretAccessKey, SECRET_RE);
      assert.equal(Buffer.from(c.secretAccessKey, "base64").length, 32);
      seen.add(c.accessKeyId).add(c.secretAccessKey);
    }
    assert.equal(seen.size, 2000);
  });

  test("the secret draws its own 32 random bytes, independent of the id", () => {
    const calls: number[] = [];
    newCredential((n) => (calls.push(n), crypto.randomBytes(n)));
    assert.deepEqual(calls, [16, 32]);
  });
});

describe("key ids", () => {
  test("KMS's characters, at most 128, not . or ..", () => {
    for (const ok of ["a", "xks-key-1", "A.b_c-9", "x".repeat(128), "..."]) assertKeyId(ok);
    const bad: [string, RegExp][] = [
      ["", /it is empty/],
      [".", /dot-segment/],
      ["..", /dot-segment/],
      ["x".repeat(129), /129 characters/],
      ["a b", /contains " "/],
      ["ключ", /contains/],
      ["a/b", /contains "\/"/],
    ];
    for (const [id, re] of bad) {
      assert.throws(() => assertKeyId(id), (e: unknown) => isXksctlError(e) && e.code === "XKS_KEY_INVALID_ID" && re.test(e.message), id);
    }
  });
});

describe("aws steps", () => {
  const settings = () =>
    writeCommentedSettings(dir, { tokenLabel: "t", pin: "1", accessKeyId: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", keyIds: ["xks-key-1", "key.two"] }, `s-${crypto.randomUUID()}.toml`);

  test("commands, key policy and no secret", () => {
    const s = renderAwsSteps({ settingsFile: settings(), endpoint: "https://xks.example.com/", keyAdminArn: "arn:aws:iam::111122223333:role/KeyAdmin" });
    assert.equal(s.region, "us-east-1");
    assert.equal(s.uriPath, "/example/prefix/kms/xks/v1");
    assert.equal(s.endpoint, "https://xks.example.com");
    assert.equal(s.keyStoreName, "xksctl-example-prefix");
    assert.deepEqual(s.keyIds, ["xks-key-1", "key.two"]);
    const script = awsStepsScript(s);
    assert.match(script, /aws kms create-custom-key-store \\\n  --region us-east-1 \\\n  --custom-key-store-name xksctl-example-prefix \\\n  --custom-key-store-type EXTERNAL_KEY_STORE \\\n  --xks-proxy-connectivity PUBLIC_ENDPOINT \\\n  --xks-proxy-uri-endpoint https:\/\/xks\.example\.com \\\n  --xks-proxy-uri-path \/example\/prefix\/kms\/xks\/v1 \\\n  --xks-proxy-authentication-credential "file:\/\/\$XKS_CREDENTIAL"/);
    assert.match(script, /aws kms connect-custom-key-store \\\n  --region us-east-1 \\\n  --custom-key-store-id "\$XKS_STORE_ID"/);
    assert.match(script, /aws kms create-key \\\n  --region us-east-1 \\\n  --origin EXTERNAL_KEY_STORE \\\n  --custom-key-store-id "\$XKS_STORE_ID" \\\n  --xks-key-id xks-key-1 /);
    assert.match(script, /--xks-key-id key\.two/);
    assert.doesNotMatch(script, /PleaseReplaceThisWithSomeSecretOfLength43To64/);
    const policy = keyPolicy("arn:aws:iam::111122223333:role/KeyAdmin") as { Statement: { Principal: { AWS: string } }[] };
    assert.deepEqual(policy.Statement.map((st) => st.Principal.AWS), ["arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:role/KeyAdmin"]);
    assert.ok(script.includes(JSON.stringify(policy, null, 2)));
    assert.match(s.warnings.join("\n"), /is_tls_enabled is false/);
  });

  test("the generated script is valid sh", async () => {
    const s = renderAwsSteps({ settingsFile: settings(), endpoint: "https://xks.example.com", keyAdminArn: "arn:aws:iam::111122223333:user/alice", keyUserArn: "arn:aws:iam::111122223333:role/App", vpcEndpointService: "com.amazonaws.vpce.us-east-1.vpce-svc-0123" });
    const f = path.join(dir, "steps.sh");
    fs.writeFileSync(f, awsStepsScript(s));
    const { execFileSync } = await import("node:child_process");
    execFileSync("sh", ["-n", f]);
    assert.match(awsStepsScript(s), /--xks-proxy-connectivity VPC_ENDPOINT_SERVICE \\\n  --xks-proxy-vpc-endpoint-service-name com\.amazonaws\.vpce\.us-east-1\.vpce-svc-0123/);
    assert.equal((s.keyPolicy.Statement as unknown[]).length, 3);
  });

  test("refusals: endpoint with a path or a port, a bad ARN, placeholder credentials", () => {
    assert.throws(() => normaliseEndpoint("https://x.example.com/kms"), /it has a path/);
    assert.throws(() => normaliseEndpoint("https://x.example.com:8443"), /it has a port \(:8443\)/);
    assert.equal(normaliseEndpoint("https://XKS.Example.com/"), "https://xks.example.com");
    assert.throws(() => normaliseEndpoint("http://x.example.com"), /https/);
    assert.throws(() => keyPolicy("arn:aws:iam::12:role/x"), /--key-admin-arn must be an IAM/);
    const placeholder = writeCommentedSettings(dir, { tokenLabel: "t", pin: "1" }, "placeholder.toml");
    assert.throws(
      () => renderAwsSteps({ settingsFile: placeholder, endpoint: "https://x.example.com", keyAdminArn: "arn:aws:iam::111122223333:root" }),
      (e: unknown) => isXksctlError(e) && /no usable sigv4_access_key_id/.test(e.message) && /creds generate/.test(e.remedy),
    );
  });
});
