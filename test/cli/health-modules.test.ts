/**
 * GetHealthStatus's ekmFleetDetails: one entry per HSM module on an nShield client (read from
 * `enquiry`: load sharing puts several modules behind one PKCS#11 slot), a module its tools call
 * unusable reported UNAVAILABLE; one entry for the token where no nShield tools exist. The nShield
 * stand-ins (test/fixtures/nfast) play a two-module client over a real SoftHSM token.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import type { Agent } from "undici";
import { createStandardToken } from "../helpers/proxy.js";
import { createStandinWorld, type StandinWorld } from "../helpers/operator.js";
import { startServe, type ServeProcess } from "../helpers/serve-process.js";
import { CREDS, PREFIX, testSettings, writeSettings } from "../helpers/settings.js";
import { agents, smithyPost } from "../helpers/sign.js";
import { SOFTHSM_LIB, removeTestToken, type TestToken } from "../helpers/softhsm.js";
import { createTestPki, type TestPki } from "../helpers/tls.js";

let token: TestToken;
let pki: TestPki;
let h2: Agent;
const worlds: StandinWorld[] = [];
const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };

before(() => {
  token = createStandardToken();
  pki = createTestPki();
  ({ h2 } = agents(readFileSync(pki.caCert)));
});
after(async () => {
  await h2.close();
  for (const w of worlds) w.cleanup();
  removeTestToken(token);
});

const config = () => writeSettings(token.dir, testSettings({ module: SOFTHSM_LIB, tokenLabel: token.label, pin: token.pin, cert: pki.serverCert, key: pki.serverKey }), "modules.toml");
type Fleet = { id: string; model: string; healthStatus: string }[];
const fleet = async (s: ServeProcess): Promise<Fleet> => {
  const r = await smithyPost(`${s.url}${PREFIX}/kms/xks/v1/health`, { requestMetadata: { kmsRequestId: "h", kmsOperation: "KmsHealthCheck" } }, h2, main);
  assert.equal(r.status, 200, r.text);
  return r.json.ekmFleetDetails as Fleet;
};
async function untilFleet(s: ServeProcess, n: number): Promise<Fleet> {
  for (let i = 0; i < 200; i++) {
    const f = await fleet(s);
    if (f.length === n) return f;
    await new Promise((r) => setTimeout(r, 25));
  }
  return fleet(s);
}

test("an nShield client with two modules: one entry each, both ACTIVE", async () => {
  const world = createStandinWorld(token, { NFAST_STANDIN_MODULES: "2" });
  worlds.push(world);
  const s = await startServe(config(), world.env);
  try {
    const f = await untilFleet(s, 2);
    assert.deepEqual(f.map((m) => m.id), ["module #1 (ESN 530E-02E0-D947)", "module #2 (ESN 530E-02E0-D942)"]);
    assert.deepEqual(f.map((m) => m.healthStatus), ["ACTIVE", "ACTIVE"]);
    assert.match(f[0]!.model, /^nShield firmware 12\.80\.4 \(mode operational, hardware OK\)$/);
  } finally {
    await s.stop();
  }
});

test("a module enquiry calls unusable is UNAVAILABLE while the other stays ACTIVE", async () => {
  const world = createStandinWorld(token, { NFAST_STANDIN_MODULES: "2", NFAST_STANDIN_FAIL: "module-unusable" });
  worlds.push(world);
  const s = await startServe(config(), world.env);
  try {
    const f = await untilFleet(s, 2);
    assert.deepEqual(f.map((m) => m.healthStatus), ["ACTIVE", "UNAVAILABLE"]);
  } finally {
    await s.stop();
  }
});

test("no nShield tools: one entry, the token", async () => {
  const s = await startServe(config(), { ...token.env, PATH: "/usr/bin:/bin", NFAST_HOME: "/nonexistent" });
  try {
    const f = await fleet(s);
    assert.equal(f.length, 1);
    assert.equal(f[0]!.id, token.label);
    assert.equal(f[0]!.healthStatus, "ACTIVE");
  } finally {
    await s.stop();
  }
});
