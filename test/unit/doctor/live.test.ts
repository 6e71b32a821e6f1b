/**
 * Group `live` against a real proxy (in process, SoftHSM token, TLS chain of a test CA) and, for
 * answers a healthy proxy never gives, a fake HTTP client: each check passes, and fails for its
 * main reason (missing key, encrypt-only key, wrong secret accepted, clock skew, bad CDIV); a
 * store's allow rules refusing doctor's principal is a warning.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { TestPki } from "../../helpers/tls.js";
import { CREDS, PREFIX, testSettings, writeSettings } from "../../helpers/settings.js";
import { SOFTHSM_LIB, removeTestToken, type TestToken } from "../../helpers/softhsm.js";
import { createStandardToken, startTestProxy, type TestProxy } from "../../helpers/proxy.js";
import { cdiv } from "../../../src/proxy/aad.js";
import { doctorDeps } from "../../../src/workflows/doctor/deps.js";
import type { HttpClient, HttpRequest, HttpResponse } from "../../../src/workflows/doctor/http.js";
import { runDoctor } from "../../../src/workflows/doctor/index.js";
import { signKmsRequest } from "../../../src/workflows/doctor/sigv4.js";
import { nonInteractivePrompts } from "../../../src/ui/dialogs.js";
import { fakeDeps, runChecks, settingsFile, tmpDir } from "./fixture.js";
import { createPki, type Pki } from "./pki.js";

let token: TestToken;
let pki: Pki;
let chain: { cert: string; key: string };
const proxies: TestProxy[] = [];

before(() => {
  token = createStandardToken();
  pki = createPki();
  const leaf = pki.leaf(["localhost"], ["127.0.0.1"]);
  chain = pki.files("proxy", leaf.certPem + pki.intermediatePem + pki.rootPem, leaf.keyPem);
});
after(async () => {
  for (const p of proxies) await p.close();
  removeTestToken(token);
});

const store = (keyIds: string[], extra: Record<string, unknown> = {}) => ({
  external_key_stores: [{ uri_path_prefix: PREFIX, sigv4_access_key_id: CREDS.main.id, sigv4_secret_access_key: CREDS.main.secret, xks_key_id_set: keyIds, ...extra }],
});

/** Starts a proxy with `patch`, and writes doctor's copy of its settings (its real port; `doctorPatch` on top). */
async function proxyAndSettings(patch: Record<string, unknown>, doctorPatch: Record<string, unknown> = {}): Promise<{ proxy: TestProxy; config: string }> {
  const proxyPki = { serverCert: chain.cert, serverKey: chain.key, caCert: chain.cert } as TestPki;
  const proxy = await startTestProxy({ token, pki: proxyPki, patch });
  proxies.push(proxy);
  const doc = testSettings({ module: SOFTHSM_LIB, tokenLabel: token.label, pin: token.pin, cert: chain.cert, key: chain.key }, { ...patch, server: { port: proxy.port }, ...doctorPatch });
  return { proxy, config: writeSettings(tmpDir(), doc) };
}

/** Real HTTP (undici over loopback) and TCP. */
function realDeps(over: Parameters<typeof fakeDeps>[0] = {}) {
  const d = doctorDeps({ env: {}, cwd: process.cwd(), stdout: { write: () => undefined }, stderr: { write: () => undefined }, now: Date.now, prompts: nonInteractivePrompts, interactive: false });
  return fakeDeps({ tcpConnect: d.tcpConnect, http: d.http, ...over });
}

const live = { groups: ["live" as const] };

describe("against the running proxy", () => {
  test("pass: health over HTTP/2, metadata, Encrypt (AAD, CDIV) / Decrypt, wrong secret refused, clocks in step", async () => {
    const { config } = await proxyAndSettings(store(["foo", "xks-vector-key"]));
    const res = await runChecks(realDeps(), { config, ...live });
    for (const id of ["live.metadata", "live.crypto", "live.auth", "live.clock"]) assert.equal(res.get(id)!.status, "pass", `${id}: ${res.get(id)!.message}`);
    // A deep check slower than 100 ms (a loaded test machine) reports DEGRADED: a warning, never a failure.
    assert.ok(res.get("live.health")!.status === "pass" || /DEGRADED/.test(res.get("live.health")!.message), res.get("live.health")!.message);
    assert.match(res.get("live.health")!.message, /^store "\/test\/uri\/prefix": 200 over HTTP\/2, fleet size 1, EKM SoftHSM project \(serial number: \w+\): (ACTIVE|DEGRADED)/);
    assert.match(res.get("live.health")!.message, /TLS verified against the proxy's own .*proxy\.pem \(a private root/);
    assert.equal(res.get("live.metadata")!.message, 'store "/test/uri/prefix": foo, xks-vector-key AES_256 ENABLED');
    assert.equal(res.get("live.crypto")!.message, 'store "/test/uri/prefix": Encrypt (AAD, CDIV) and Decrypt with foo, xks-vector-key');
    assert.equal(res.get("live.auth")!.message, 'store "/test/uri/prefix": 401 AuthenticationFailedException');
  });

  test("fail: a key id the HSM lacks and an encrypt-only key, each named; the good key still round-trips", async () => {
    const { config } = await proxyAndSettings(store(["foo", "not-in-hsm", "enc-only"]));
    const res = await runChecks(realDeps(), { config, ...live });
    const m = res.get("live.metadata")!;
    assert.equal(m.status, "fail");
    assert.match(m.message, /key "not-in-hsm": 404 KeyNotFoundException/);
    assert.match(m.message, /key "enc-only": keyUsage \[.*\] lacks DECRYPT/);
    assert.equal(m.fix, "Run `xksctl doctor --group pkcs11` for what the HSM says about the keys named; create or fix them, or remove them from xks_key_id_set.");
    assert.deepEqual([res.get("live.crypto")!.status, res.get("live.crypto")!.message], ["pass", 'store "/test/uri/prefix": Encrypt (AAD, CDIV) and Decrypt with foo']);
  });

  test("warn: the store's allow rules refuse doctor's principal (403); live.crypto is skipped; exit 0", async () => {
    const { config } = await proxyAndSettings(store(["foo"], { allow: [{ principal: "arn:aws:iam::444455556666:role/App" }] }));
    const report = await runDoctor(realDeps(), { config, ...live });
    const res = new Map(report.checks.map((c) => [c.id, c]));
    const m = res.get("live.metadata")!;
    assert.equal(m.status, "warn");
    assert.match(m.message, /^store "\/test\/uri\/prefix": the store's \[\[external_key_stores\.allow\]\] rules \(1 in the settings\) refused doctor's made-up principal arn:aws:iam::111122223333:role\/xksctl-doctor \(403 AccessDeniedException for "foo"\)/);
    assert.equal(res.get("live.crypto")!.status, "skip");
    assert.equal(report.exitCode, 0, JSON.stringify(report.checks.filter((c) => c.status === "fail")));
  });

  test("warn: a disabled key", async () => {
    const { config } = await proxyAndSettings(store(["foo", "disabled-key"], { disabled_xks_key_ids: ["disabled-key"] }));
    const r = (await runChecks(realDeps(), { config, ...live })).get("live.metadata")!;
    assert.equal(r.status, "warn");
    assert.match(r.message, /"disabled-key" reported DISABLED/);
  });

  test("fail: the proxy answers a request signed with a wrong secret", async () => {
    const { config } = await proxyAndSettings({ ...store(["foo"]), security: { is_sigv4_auth_enabled: false } });
    const r = (await runChecks(realDeps(), { config, ...live })).get("live.auth")!;
    assert.equal(r.status, "fail");
    assert.match(r.message, /a request signed with a wrong secret was answered 200: the proxy does not check signatures/);
    assert.equal(r.fix, "Set [security] is_sigv4_auth_enabled = true in the settings and restart the proxy.");
  });

  test("fail: the store's credential differs from the proxy's (401 on the health check)", async () => {
    const { config } = await proxyAndSettings(store(["foo"]), store(["foo"], { sigv4_secret_access_key: CREDS.rotated.secret }));
    const res = await runChecks(realDeps(), { config, ...live });
    const h = res.get("live.health")!;
    assert.equal(h.status, "fail");
    assert.match(h.message, /^store "\/test\/uri\/prefix": 401 AuthenticationFailedException/);
    assert.match(h.fix!, /the access key id and secret of the store/);
    assert.equal(res.get("live.metadata")!.message, "needs: live.health");
    assert.equal(res.get("live.clock")!.status, "pass");
  });

  test("fail: the local clock is 10 minutes ahead of the proxy's Date header", async () => {
    const { config } = await proxyAndSettings(store(["foo"]));
    const res = await runChecks(realDeps({ now: () => Date.now() + 10 * 60_000 }), { config, ...live });
    const c = res.get("live.clock")!;
    assert.equal(c.status, "fail");
    assert.match(c.message, /^the local clock is (9\.9|10\.0) min ahead of the proxy's Date header: outside KMS's 5 minutes/);
    assert.match(c.fix!, /Synchronise the clocks with NTP/);
    assert.match(res.get("live.health")!.message, /401 AuthenticationFailedException.*\(the clocks differ by (9\.9|10\.0) min \(see live\.clock\)\)/);
  });
});

describe("--url: any XKS proxy, no local settings", () => {
  test("pass with its CA; fail without it (the TLS error, and the fix names --ca-file)", async () => {
    const { proxy } = await proxyAndSettings(store(["foo"]));
    const url = { url: `https://localhost:${proxy.port}${PREFIX}`, accessKeyId: CREDS.main.id, secret: CREDS.main.secret, region: "us-east-1", keyIds: ["foo"] };
    const ok = await runChecks(realDeps(), { url: { ...url, caPem: pki.rootPem, caFile: "root.pem" } });
    assert.deepEqual([...ok.keys()], ["live.health", "live.metadata", "live.crypto", "live.auth", "live.clock"]);
    for (const r of ok.values()) assert.ok(r.status === "pass" || (r.id === "live.health" && /DEGRADED/.test(r.message)), `${r.id}: ${r.message}`);
    assert.match(ok.get("live.health")!.message, /TLS verified against root\.pem/);
    const bad = await runChecks(realDeps(), { url });
    const h = bad.get("live.health")!;
    assert.equal(h.status, "fail");
    assert.match(h.message, /no answer: .*(certificate|self.signed|issuer)/i);
    assert.match(h.fix!, /--ca-file adds a CA/);
  });

  test("skip: no --key-id, so no metadata or crypto", async () => {
    const { proxy } = await proxyAndSettings(store(["foo"]));
    const res = await runChecks(realDeps(), { url: { url: `https://localhost:${proxy.port}${PREFIX}`, accessKeyId: CREDS.main.id, secret: CREDS.main.secret, region: "us-east-1", keyIds: [], caPem: pki.rootPem, caFile: "root.pem" } });
    assert.deepEqual([res.get("live.metadata")!.status, res.get("live.metadata")!.message], ["skip", "no key id given: pass --key-id"]);
  });
});

describe("answers a healthy proxy never gives (fake HTTP)", () => {
  /** Answers by route; every response carries a Date header. */
  function fakeHttp(route: (path: string, body: Record<string, unknown>) => { status: number; json: unknown }): HttpClient {
    return {
      async request(req: HttpRequest): Promise<HttpResponse> {
        const path = new URL(req.url).pathname;
        const r = route(path, JSON.parse(req.body ?? "{}") as Record<string, unknown>);
        return { status: r.status, headers: { date: new Date().toUTCString() }, body: JSON.stringify(r.json), protocol: "h2" };
      },
      close: async () => undefined,
    };
  }
  const healthBody = (status: string) => ({ xksProxyFleetSize: 1, xksProxyVendor: "v", xksProxyModel: "m", ekmVendor: "e", ekmFleetDetails: [{ id: "1", model: "m", healthStatus: status }] });
  const deps = (http: HttpClient) => fakeDeps({ http, tcpConnect: async () => undefined });
  const config = () => settingsFile(tmpDir(), { ...store(["k1"]), security: { is_tls_enabled: false } });

  test("health UNAVAILABLE fails, DEGRADED warns", async () => {
    const un = (await runChecks(deps(fakeHttp(() => ({ status: 200, json: healthBody("UNAVAILABLE") }))), { config: config(), ...live })).get("live.health")!;
    assert.equal(un.status, "fail");
    assert.match(un.message, /EKM e: UNAVAILABLE/);
    assert.equal(un.fix, "Check the HSM: `xksctl doctor --group pkcs11` and the proxy's log (health check failed).");
    const de = (await runChecks(deps(fakeHttp(() => ({ status: 200, json: healthBody("DEGRADED") }))), { config: config(), ...live })).get("live.health")!;
    assert.equal(de.status, "warn");
  });

  test("a health body without what KMS needs fails", async () => {
    const r = (await runChecks(deps(fakeHttp(() => ({ status: 200, json: { xksProxyFleetSize: 0, ekmFleetDetails: [] } }))), { config: config(), ...live })).get("live.health")!;
    assert.equal(r.status, "fail");
    assert.match(r.message, /xksProxyFleetSize is not an integer > 0; xksProxyVendor is missing; xksProxyModel is missing; ekmVendor is missing; ekmFleetDetails is not an array of 1-10 entries/);
  });

  test("live.crypto fails on a wrong CDIV and on a ciphertext of the wrong length", async () => {
    const b = (n: number) => Buffer.alloc(n, 7).toString("base64");
    const route = (wrong: "cdiv" | "length") => (path: string, body: Record<string, unknown>) => {
      if (path.endsWith("/health")) return { status: 200, json: healthBody("ACTIVE") };
      if (path.endsWith("/metadata")) return { status: 200, json: { keySpec: "AES_256", keyUsage: ["ENCRYPT", "DECRYPT"], keyStatus: "ENABLED" } };
      const aad = Buffer.from(String(body.additionalAuthenticatedData), "base64");
      const ct = Buffer.alloc(wrong === "length" ? 31 : 32, 1);
      const value = cdiv(aad, Buffer.alloc(0), Buffer.alloc(12, 7), ct, Buffer.alloc(16, 7));
      return { status: 200, json: { ciphertext: ct.toString("base64"), initializationVector: b(12), authenticationTag: b(16), ciphertextDataIntegrityValue: wrong === "cdiv" ? value.replace(/^./, (c) => (c === "A" ? "B" : "A")) : value } };
    };
    const badCdiv = (await runChecks(deps(fakeHttp(route("cdiv"))), { config: config(), ...live })).get("live.crypto")!;
    assert.equal(badCdiv.status, "fail");
    assert.match(badCdiv.message, /key "k1": Encrypt: ciphertextDataIntegrityValue is not SHA-256\(AAD ‖ metadata ‖ IV ‖ ciphertext ‖ tag\): KMS would reject it/);
    const len = (await runChecks(deps(fakeHttp(route("length"))), { config: config(), ...live })).get("live.crypto")!;
    assert.match(len.message, /Encrypt: ciphertext is 31 bytes, expected 32/);
  });

  test("the CDIV live.crypto checks against (proxy/aad.ts cdiv) matches the XKS spec's test vector", () => {
    const v = cdiv(Buffer.from("project=nile,department=marketing"), Buffer.from("key_version=1"), Buffer.from("HMrlRw85cAJUd5Ax", "base64"), Buffer.from("ghxkK1txeDNn3q8Y", "base64"), Buffer.from("vBxN2ncH1oEkR8WVXpmyYQ==", "base64"));
    assert.equal(v, "qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=");
  });

  test("a 403 AccessDeniedException (the store's allow rules) is a warning naming the rule to add; live.crypto is skipped; exit 0", async () => {
    const now = Date.now();
    const date = new Date(now).toUTCString();
    // SigV4 as the proxy checks it: a request signed with another secret gets 401 (live.auth).
    const http: HttpClient = {
      async request(req: HttpRequest): Promise<HttpResponse> {
        const right = signKmsRequest({ method: "POST", url: req.url, body: req.body ?? "", accessKeyId: CREDS.main.id, secret: CREDS.main.secret, region: "us-east-1", now }).authorization;
        const answer = (status: number, json: unknown): HttpResponse => ({ status, headers: { date }, body: JSON.stringify(json), protocol: "h2" });
        if (req.headers?.authorization !== right) return answer(401, { errorName: "AuthenticationFailedException" });
        if (req.url.endsWith("/health")) return answer(200, healthBody("ACTIVE"));
        return answer(403, { errorName: "AccessDeniedException", errorMessage: "the request is not allowed by this key store's authorization rules" });
      },
      close: async () => undefined,
    };
    const rules = { allow: [{ principal: "arn:aws:iam::444455556666:role/App" }, { principal: "arn:aws:iam::444455556666:role/Other" }] };
    const config = settingsFile(tmpDir(), { ...store(["k1", "k2"], rules), security: { is_tls_enabled: false } });
    const report = await runDoctor(fakeDeps({ http, tcpConnect: async () => undefined, now: () => now }), { config, ...live });
    const res = new Map(report.checks.map((c) => [c.id, c]));
    const m = res.get("live.metadata")!;
    assert.equal(m.status, "warn");
    assert.equal(
      m.message,
      'store "/test/uri/prefix": the store\'s [[external_key_stores.allow]] rules (2 in the settings) refused doctor\'s made-up principal arn:aws:iam::111122223333:role/xksctl-doctor (403 AccessDeniedException for "k1", "k2"): SigV4 and routing work, the keys are not checked',
    );
    assert.equal(m.fix, 'For doctor to check the keys, add a [[external_key_stores.allow]] rule with principal = "arn:aws:iam::111122223333:role/xksctl-doctor" to the store (then restart the proxy or send it SIGHUP); or accept this warning.');
    const c = res.get("live.crypto")!;
    assert.deepEqual([c.status, c.message], ["skip", 'store "/test/uri/prefix": not checked: the store\'s [[external_key_stores.allow]] rules (2 in the settings) refused doctor\'s made-up principal arn:aws:iam::111122223333:role/xksctl-doctor (see live.metadata)']);
    for (const id of ["live.health", "live.auth", "live.clock"]) assert.equal(res.get(id)!.status, "pass", `${id}: ${res.get(id)!.message}`);
    assert.equal(report.exitCode, 0);
  });
});
