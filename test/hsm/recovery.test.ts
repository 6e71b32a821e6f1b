/**
 * Recovery after HSM failures, as the reference does it: a CKR_DEVICE_ERROR answers 500
 * InternalException, the library is finalized and re-initialised, and the next requests work.
 * The slowhsm shim injects the error (it reads SLOWHSM_FAIL on every call).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import type { Agent } from "undici";
import { keyPath, md, startTestProxy, type TestProxy } from "../helpers/proxy.js";
import { slowHsmLibrary } from "../helpers/serve-process.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { agents, smithyPost } from "../helpers/sign.js";
import { until } from "../helpers/wait.js";

let proxy: TestProxy;
let h2: Agent;
const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };

before(async () => {
  delete process.env.SLOWHSM_FAIL;
  proxy = await startTestProxy({ module: slowHsmLibrary(), patch: { pkcs11: { health_check_interval_milli: 50 } } });
  ({ h2 } = agents(readFileSync(proxy.pki.caCert)));
});
after(async () => {
  delete process.env.SLOWHSM_FAIL;
  await h2.close();
  await proxy.close();
});

const encrypt = () => smithyPost(`${proxy.url}${keyPath(PREFIX, "foo", "encrypt")}`, { requestMetadata: md(), plaintext: "AAAA", encryptionAlgorithm: "AES_GCM" }, h2, main);
const health = () => smithyPost(`${proxy.url}${PREFIX}/kms/xks/v1/health`, { requestMetadata: { kmsRequestId: "h", kmsOperation: "KmsHealthCheck" } }, h2, main);

test("a device error answers 500, re-initialises the library, and service resumes", async () => {
  assert.equal((await encrypt()).status, 200);
  process.env.SLOWHSM_FAIL = "C_Encrypt";
  const failed = await encrypt();
  assert.equal(failed.status, 500, failed.text);
  assert.equal(failed.json.errorName, "InternalException");
  assert.doesNotMatch(failed.text, /CKR_/, "CKR names stay in our log");
  delete process.env.SLOWHSM_FAIL;
  let ok = 0;
  for (let i = 0; i < 50 && ok === 0; i++) {
    const r = await encrypt();
    if (r.status === 200) ok++;
    else await new Promise((res) => setTimeout(res, 20));
  }
  assert.equal(ok, 1, "requests succeed again after the reset");
  const log = proxy.rawLog();
  assert.match(log, /CKR_DEVICE_ERROR/);
  assert.match(log, /PKCS#11 library re-initialised/);
});

test("GetHealthStatus reports UNAVAILABLE while the HSM fails and ACTIVE once it is back, by itself", async () => {
  const state = async () => ((await health()).json.ekmFleetDetails as { healthStatus: string }[])[0]!.healthStatus;
  const reported = (want: string) => until(async () => (await state()) === want, `GetHealthStatus ${want}`);
  await reported("ACTIVE");
  process.env.SLOWHSM_FAIL = "C_Encrypt,C_Decrypt";
  await reported("UNAVAILABLE");
  delete process.env.SLOWHSM_FAIL;
  await reported("ACTIVE");
});
