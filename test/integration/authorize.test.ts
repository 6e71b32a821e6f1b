/**
 * Secondary authorization ([[external_key_stores.allow]]) under signed traffic on SoftHSM: a
 * request some rule matches passes, one no rule matches gets 403 AccessDeniedException and a log
 * line naming the store, GetHealthStatus is never denied, a store without rules is SigV4 alone;
 * `config validate` lists a broken rule.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Agent } from "undici";
import { parse } from "@iarna/toml";
import { validateSettings } from "../../src/config/validate.js";
import { defaultValidateDeps } from "../../src/config/load.js";
import { allowed, globToRegExp } from "../../src/proxy/authorize.js";
import type { KeyStoreSettings } from "../../src/config/types.js";
import { keyPath, md, startTestProxy, type TestProxy } from "../helpers/proxy.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { agents, smithyPost, type SignOptions } from "../helpers/sign.js";
import { tempDir } from "../helpers/tmp.js";

const main: SignOptions = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };
const other: SignOptions = { accessKeyId: CREDS.other.id, secret: CREDS.other.secret };
const ALICE = "arn:aws:iam::123456789012:user/Alice";
const APP = "arn:aws:iam::123456789012:role/app-web";

let proxy: TestProxy;
let h2: Agent;

before(async () => {
  proxy = await startTestProxy({
    patch: {
      external_key_stores: [
        {
          uri_path_prefix: PREFIX,
          sigv4_access_key_id: CREDS.main.id,
          sigv4_secret_access_key: CREDS.main.secret,
          xks_key_id_set: ["foo"],
          allow: [
            { principal: "arn:aws:iam::123456789012:user/Al*", operations: ["Encrypt", "GenerateDataKey*"] },
            { principal: "arn:aws:iam::123456789012:role/app-*", via_service: "ebs" },
          ],
        },
        { uri_path_prefix: "", sigv4_access_key_id: CREDS.other.id, sigv4_secret_access_key: CREDS.other.secret, xks_key_id_set: ["foo"] },
      ],
    },
  });
  ({ h2 } = agents(fs.readFileSync(proxy.pki.caCert)));
});
after(async () => {
  await h2.close();
  await proxy.close();
});

const encrypt = (metadata: Record<string, unknown>, prefix = PREFIX, who = main) =>
  smithyPost(`${proxy.url}${keyPath(prefix, "foo", "encrypt")}`, { requestMetadata: metadata, plaintext: Buffer.from("authz").toString("base64"), encryptionAlgorithm: "AES_GCM" }, h2, who);

describe("allow rules under traffic", () => {
  test("a matching principal and operation pass; a wildcard operation matches its family", async () => {
    assert.equal((await encrypt(md("Encrypt", { awsPrincipalArn: ALICE }))).status, 200);
    assert.equal((await encrypt(md("GenerateDataKeyWithoutPlaintext", { awsPrincipalArn: ALICE }))).status, 200);
  });

  test("an operation no rule names is denied: 403 AccessDeniedException, the log names the store and that no rule matched", async () => {
    const r = await encrypt(md("ReEncrypt", { awsPrincipalArn: ALICE }));
    assert.equal(r.status, 403, r.text);
    assert.deepEqual(r.json, { errorName: "AccessDeniedException", errorMessage: "the request is not allowed by this key store's authorization rules" });
    const line = proxy.logs.find((l) => l.status === 403);
    assert.ok(line, "a log line for the 403");
    assert.equal(line.store, PREFIX);
    assert.equal(line.accessKeyId, CREDS.main.id, "the log line names the access key id that signed it (never the secret)");
    assert.doesNotMatch(JSON.stringify(proxy.logs), new RegExp(CREDS.main.secret.replace(/[+/=]/g, "\\$&")));
    assert.match(String(line.detail), /no \[\[external_key_stores\.allow\]\] rule of this store matched/);
  });

  test("every field a rule names must match: the role passes only via EBS", async () => {
    assert.equal((await encrypt(md("Encrypt", { awsPrincipalArn: APP, kmsViaService: "ebs" }))).status, 200);
    assert.equal((await encrypt(md("Encrypt", { awsPrincipalArn: APP }))).status, 403);
    assert.equal((await encrypt(md("Encrypt", { awsPrincipalArn: APP, kmsViaService: "rds" }))).status, 403);
    assert.equal((await encrypt(md("Encrypt", { awsPrincipalArn: "arn:aws:iam::999999999999:user/Alice" }))).status, 403);
  });

  test("GetHealthStatus is never denied", async () => {
    const r = await smithyPost(`${proxy.url}${PREFIX}/kms/xks/v1/health`, { requestMetadata: { kmsRequestId: "h", kmsOperation: "KmsHealthCheck" } }, h2, main);
    assert.equal(r.status, 200, r.text);
  });

  test("a store without rules is SigV4 alone", async () => {
    assert.equal((await encrypt(md("ReEncrypt", { awsPrincipalArn: "arn:aws:iam::999999999999:user/Mallory" }), "", other)).status, 200);
  });
});

test("a reload that drops every rule of a store is refused; one that changes them is not", async () => {
  const { reloadRefusals } = await import("../../src/proxy/reload-policy.js");
  const s = proxy.settings;
  const without = { ...s, external_key_stores: s.external_key_stores.map((x) => ({ ...x, allow: [] })) };
  const changed = { ...s, external_key_stores: s.external_key_stores.map((x) => (x.allow.length ? { ...x, allow: [{ principal: "arn:*" }] } : x)) };
  assert.deepEqual(reloadRefusals(s, without).map((r) => r.key), [`external_key_stores "${PREFIX}" allow`]);
  assert.deepEqual(reloadRefusals(s, changed), []);
});

describe("the rule language", () => {
  const store = (allow: KeyStoreSettings["allow"]) => ({ allow }) as KeyStoreSettings;
  test("* matches any run of characters; other characters only themselves", () => {
    assert.ok(globToRegExp("arn:aws:iam::1:role/app-*").test("arn:aws:iam::1:role/app-"));
    assert.ok(!globToRegExp("arn:aws:iam::1:role/app-*").test("arn:aws:iam::1:role/appx"));
    assert.ok(!globToRegExp("a.b").test("axb"), "a dot is a dot");
    assert.ok(globToRegExp("*").test(""));
  });
  test("a field the request lacks does not match a rule that names it", () => {
    assert.equal(allowed(store([{ source_vpce: "vpce-*" }]), { kmsRequestId: "r", kmsOperation: "Encrypt" }), false);
    assert.equal(allowed(store([{ source_vpce: "vpce-*" }]), { kmsRequestId: "r", kmsOperation: "Encrypt", awsSourceVpce: "vpce-0abc" }), true);
  });
});

test("config validate lists a rule with an unknown field, a bad value or no field at all", () => {
  const dir = tempDir("xksctl-allow-");
  try {
    const text = fs.readFileSync(proxy.settings.file, "utf8").replace(
      /xks_key_id_set = \[ "foo" \]\n/,
      `xks_key_id_set = [ "foo" ]\n\n[[external_key_stores.allow]]\nprincipl = "arn:*"\n\n[[external_key_stores.allow]]\noperations = []\n\n[[external_key_stores.allow]]\n`,
    );
    assert.notEqual(text, fs.readFileSync(proxy.settings.file, "utf8"), "the fixture changed");
    const file = path.join(dir, "s.toml");
    fs.writeFileSync(file, text);
    const r = validateSettings(parse(text) as Record<string, unknown>, file, defaultValidateDeps({}));
    const paths = r.problems.map((p) => p.path);
    assert.ok(paths.some((p) => /external_key_stores\[0\]\.allow\[\d\]\.principl/.test(p)), JSON.stringify(r.problems));
    assert.ok(paths.some((p) => /external_key_stores\[0\]\.allow\[\d\]\.operations/.test(p)), JSON.stringify(r.problems));
    assert.ok(r.problems.some((p) => /empty rule/.test(p.got)), JSON.stringify(r.problems));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
