/**
 * GetHealthStatus's ekmFleetDetails: one entry per HSM module on an nShield client (read from
 * `enquiry`: load sharing puts several modules behind one PKCS#11 slot), a module its tools call
 * unusable reported UNAVAILABLE; one entry for the token where no nShield tools exist. The nShield
 * stand-ins (test/fixtures/nfast) play a two-module client over a real SoftHSM token.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { createStandinWorld, type StandinWorld } from "../helpers/operator.js";
import { servedToken, startServe, type ServeProcess } from "../helpers/serve-process.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { agents, smithyPost } from "../helpers/sign.js";
import { until } from "../helpers/wait.js";

const served = servedToken();
const worlds: StandinWorld[] = [];
const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };

after(() => {
  for (const w of worlds) w.cleanup();
});

const config = () => served.config({}, "modules.toml");
type Fleet = { id: string; model: string; healthStatus: string }[];
const fleet = async (s: ServeProcess): Promise<Fleet> => {
  const r = await smithyPost(`${s.url}${PREFIX}/kms/xks/v1/health`, { requestMetadata: { kmsRequestId: "h", kmsOperation: "KmsHealthCheck" } }, served.h2, main);
  assert.equal(r.status, 200, r.text);
  return r.json.ekmFleetDetails as Fleet;
};
const untilFleet = (s: ServeProcess, n: number) =>
  until(async () => {
    const f = await fleet(s);
    return f.length === n && f;
  }, `${n} fleet entries`);

test("an nShield client with two modules: one entry each, both ACTIVE", async () => {
  const world = createStandinWorld(served.token, { NFAST_STANDIN_MODULES: "2" });
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
  const world = createStandinWorld(served.token, { NFAST_STANDIN_MODULES: "2", NFAST_STANDIN_FAIL: "module-unusable" });
  worlds.push(world);
  const s = await startServe(config(), world.env);
  try {
    const f = await untilFleet(s, 2);
    assert.deepEqual(f.map((m) => m.healthStatus), ["ACTIVE", "UNAVAILABLE"]);
  } finally {
    await s.stop();
  }
});

test("worker processes: one enquiry for the host, and every worker reports its modules", async () => {
  const world = createStandinWorld(served.token, { NFAST_STANDIN_MODULES: "2" });
  worlds.push(world);
  const s = await startServe(served.config({ server: { workers: 2 } }, "modules-workers.toml"), world.env);
  try {
    await until(() => s.stdout().includes('"msg":"xksctl workers listening"'), "both workers listening");
    // Each health check on a connection of its own: the workers take connections in turn.
    const freshFleet = async () => {
      const fresh = agents(served.ca);
      try {
        const r = await smithyPost(`${s.url}${PREFIX}/kms/xks/v1/health`, { requestMetadata: { kmsRequestId: "h", kmsOperation: "KmsHealthCheck" } }, fresh.h2, main);
        assert.equal(r.status, 200, r.text);
        return (r.json.ekmFleetDetails as Fleet).length;
      } finally {
        await Promise.all([fresh.h2.close(), fresh.h1.close()]);
      }
    };
    await until(async () => {
      const counts = [];
      for (let i = 0; i < 6; i++) counts.push(await freshFleet());
      return counts.every((n) => n === 2);
    }, "two module entries from every worker");
    assert.equal(world.invocations().filter((c) => c.tool === "enquiry").length, 1, "the primary reads enquiry; the workers do not");
  } finally {
    await s.stop();
  }
});

test("no nShield tools: one entry, the token", async () => {
  const s = await startServe(config(), { ...served.token.env, PATH: "/usr/bin:/bin", NFAST_HOME: "/nonexistent" });
  try {
    const f = await fleet(s);
    assert.equal(f.length, 1);
    assert.equal(f[0]!.id, served.token.label);
    assert.equal(f[0]!.healthStatus, "ACTIVE");
  } finally {
    await s.stop();
  }
});
