/**
 * Group `tls`: each check passes, and fails (or warns) for its main reason with the fix:
 * expired certificate, key/cert mismatch, wrong host name, chain order, private root.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { before, describe, test } from "node:test";
import type { TrustedRootsData } from "../../../src/data/aws-xks-trusted-roots.js";
import { AWS_XKS_TRUSTED_ROOTS } from "../../../src/data/aws-xks-trusted-roots.js";
import { fakeDeps, result, settingsFile, tmpDir } from "./fixture.js";
import { cnOnly, createPki, selfSigned, type Pki } from "./pki.js";

const groups = ["tls" as const];
let pki: Pki;
let good: { cert: string; key: string };
let leafPem: string;

before(() => {
  pki = createPki();
  const leaf = pki.leaf(["xks.example.com"]);
  leafPem = leaf.certPem;
  good = pki.files("good", leaf.certPem + pki.intermediatePem + pki.rootPem, leaf.keyPem);
});

const configWith = (files: { cert: string; key: string }, patch: Record<string, unknown> = {}) => settingsFile(tmpDir(), patch, files);
/** AWS's list with the test root on it (published and proposed). */
const listing = (published: string[], proposed?: string[]): TrustedRootsData => ({
  source: "test",
  lists: {
    published: { url: "test", commit: null, retrieved: "2026-12-01", note: null, roots: published.map((sha256, i) => ({ alias: `root${i}`, sha256 })) },
    ...(proposed ? { proposed: { url: "https://example.test/pr", commit: null, retrieved: "2026-12-01", note: null, roots: proposed.map((sha256, i) => ({ alias: `proposed${i}`, sha256 })) } } : {}),
  },
});
const production = { endpoint: "https://xks.example.com" };

describe("tls.files", () => {
  test("pass", async () => {
    const r = await result(fakeDeps(), { config: configWith(good), groups }, "tls.files");
    assert.equal(r.status, "pass");
    assert.match(r.message, /good\.pem: 3 certificates, server CN=xks\.example\.com; key .*good\.key/);
  });

  test("warn: TLS off; the other TLS checks are not applicable", async () => {
    const config = settingsFile(tmpDir(), { security: { is_tls_enabled: false } });
    const r = await result(fakeDeps(), { config, groups }, "tls.files");
    assert.equal(r.status, "warn");
    assert.match(r.fix!, /Set is_tls_enabled = true and \[tls\] tls_cert_pem \/ tls_key_pem in/);
    assert.equal((await result(fakeDeps(), { config, groups }, "tls.root")).message, "not applicable: TLS is off (see tls.files)");
  });

  test("fail: the certificate file is missing", async () => {
    const config = configWith({ cert: `${pki.dir}/absent.pem`, key: good.key });
    const r = await result(fakeDeps(), { config, groups }, "tls.files");
    assert.deepEqual([r.status, r.message], ["fail", `[tls] tls_cert_pem = ${pki.dir}/absent.pem: ENOENT`]);
    assert.equal(r.fix, `Point [tls] tls_cert_pem in ${config} at a file the service user can read.`);
  });

  test("fail: not PEM", async () => {
    const bad = pki.files("garbage", "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", fs.readFileSync(good.key, "utf8"));
    const r = await result(fakeDeps(), { config: configWith(bad), groups }, "tls.files");
    assert.equal(r.status, "fail");
    assert.match(r.message, /Certificate 1 of the chain is not a valid PEM certificate/);
  });
});

describe("tls.key-match", () => {
  test("pass", async () => {
    assert.equal((await result(fakeDeps(), { config: configWith(good), groups }, "tls.key-match")).status, "pass");
  });

  test("fail: the key of another certificate", async () => {
    const other = pki.leaf(["other.example.com"]);
    const mixed = pki.files("mixed", fs.readFileSync(good.cert, "utf8"), other.keyPem);
    const r = await result(fakeDeps(), { config: configWith(mixed), groups }, "tls.key-match");
    assert.equal(r.status, "fail");
    assert.match(r.message, /The private key does not belong to the server certificate "xks\.example\.com"/);
    assert.equal(r.fix, `Install the certificate issued for ${mixed.key} (or the key the certificate ${mixed.cert} was made for).`);
  });
});

describe("tls.chain", () => {
  test("pass: leaf → intermediate → root", async () => {
    const r = await result(fakeDeps(), { config: configWith(good), groups }, "tls.chain");
    assert.deepEqual([r.status, r.message], ["pass", "xks.example.com → doctor test intermediate → doctor test root"]);
  });

  test("fail: the intermediate before the leaf", async () => {
    const swapped = pki.files("swapped", pki.intermediatePem + leafPem, fs.readFileSync(good.key, "utf8"));
    const r = await result(fakeDeps(), { config: configWith(swapped), groups }, "tls.chain");
    assert.equal(r.status, "fail");
    assert.match(r.message, /did not issue certificate 1/);
    assert.match(r.fix!, /as the server certificate followed by the CA's intermediate certificates/);
  });

  test("fail: the leaf alone (incomplete)", async () => {
    const alone = pki.files("alone", leafPem, fs.readFileSync(good.key, "utf8"));
    const r = await result(fakeDeps(), { config: configWith(alone), groups }, "tls.chain");
    assert.equal(r.status, "fail");
    assert.match(r.message, /The file holds only the server certificate; its issuer .* must follow it/);
  });
});

describe("tls.validity", () => {
  test("pass", async () => {
    const r = await result(fakeDeps(), { config: configWith(good), groups }, "tls.validity");
    assert.equal(r.status, "pass");
    assert.match(r.message, /^valid until \d{4}-\d{2}-\d{2} \(36[45] days\)$/);
  });

  const leafEnd = () => new Date(new X509Certificate(leafPem).validTo).getTime();

  test("warn: it expires within 30 days (XksProxyCertificateDaysToExpire)", async () => {
    const r = await result(fakeDeps({ now: () => leafEnd() - 10 * 86_400_000 }), { config: configWith(good), groups }, "tls.validity");
    assert.equal(r.status, "warn");
    assert.match(r.message, /The server certificate "xks\.example\.com" expires on .* \(in \d+ days\)/);
    assert.equal(r.fix, `Renew the certificate and replace ${good.cert} (SIGHUP makes the proxy reload it).`);
  });

  test("fail: expired", async () => {
    const r = await result(fakeDeps({ now: () => leafEnd() + 86_400_000 }), { config: configWith(good), groups }, "tls.validity");
    assert.equal(r.status, "fail");
    assert.match(r.message, /The server certificate "xks\.example\.com" expired on \d{4}-\d{2}-\d{2}\./);
    assert.equal(r.fix, `Renew the certificate and replace ${good.cert} (SIGHUP makes the proxy reload it).`);
  });
});

describe("tls.names", () => {
  test("pass: covers --endpoint", async () => {
    const r = await result(fakeDeps(), { config: configWith(good), groups, ...production }, "tls.names");
    assert.deepEqual([r.status, r.message], ["pass", "covers xks.example.com (DNS names xks.example.com)"]);
  });

  test("fail: a wrong host name", async () => {
    const r = await result(fakeDeps(), { config: configWith(good), groups, endpoint: "https://kms-proxy.example.org" }, "tls.names");
    assert.equal(r.status, "fail");
    assert.equal(r.message, "The server certificate does not cover kms-proxy.example.org: its DNS names are xks.example.com. (endpoint from --endpoint)");
    assert.equal(r.fix, `Get a certificate whose subjectAltName has kms-proxy.example.org and install it as ${good.cert}.`);
  });

  test("pass / warn without --endpoint: the name derived from [server] (localhost)", async () => {
    const local = selfSigned(tmpDir(), ["localhost"], ["127.0.0.1"]);
    const ok = await result(fakeDeps(), { config: configWith(local), groups }, "tls.names");
    assert.equal(ok.status, "pass");
    assert.match(ok.message, /^covers localhost, derived from \[server\]/);
    const warn = await result(fakeDeps(), { config: configWith(good), groups }, "tls.names");
    assert.equal(warn.status, "warn");
    assert.match(warn.fix!, /Pass --endpoint https:\/\/<name>/);
  });

  test("a name in the CN only is not covered (clients use the DNS names): fail with --endpoint, warn when derived from [server]", async () => {
    const local = cnOnly(tmpDir(), "localhost");
    const derived = await result(fakeDeps(), { config: configWith(local), groups }, "tls.names");
    assert.deepEqual([derived.status, derived.message], ["warn", "no endpoint given and the certificate does not cover localhost (derived from [server]): DNS names (none)"]);
    const named = cnOnly(tmpDir(), "xks.example.com");
    const explicit = await result(fakeDeps(), { config: configWith(named), groups, ...production }, "tls.names");
    assert.equal(explicit.status, "fail");
    assert.equal(explicit.message, "The server certificate does not cover xks.example.com: it has no DNS subjectAltName (clients do not use the CN). (endpoint from --endpoint)");
  });
});

describe("tls.root", () => {
  test("pass: the chain's root is on AWS's list", async () => {
    const r = await result(fakeDeps({ trustedRoots: listing([pki.rootSha256], [pki.rootSha256]) }), { config: configWith(good), groups, ...production }, "tls.root");
    assert.equal(r.status, "pass");
    assert.match(r.message, /^ends at O=xksctl doctor test, CN=doctor test root \(SHA-256 [0-9a-f]{16}\.\.\.\), on AWS's list as root0/);
  });

  test("pass: the last intermediate's issuer is found in the root store (the usual public chain)", async () => {
    const noRoot = pki.files("noroot", leafPem + pki.intermediatePem, fs.readFileSync(good.key, "utf8"));
    const r = await result(fakeDeps({ trustedRoots: listing([pki.rootSha256]), systemRoots: () => [...tls.rootCertificates, pki.rootPem] }), { config: configWith(noRoot), groups, ...production }, "tls.root");
    assert.equal(r.status, "pass");
  });

  test("pass with the shipped list: Amazon Root CA 1 (from Node.js's store) is amazonrootca1", async () => {
    const amazon = tls.rootCertificates.find((p) => new X509Certificate(p).subject.includes("CN=Amazon Root CA 1"));
    assert.ok(amazon, "Node.js ships Amazon Root CA 1");
    const files = pki.files("amazon", amazon, fs.readFileSync(good.key, "utf8"));
    const r = await result(fakeDeps(), { config: configWith(files), groups, ...production }, "tls.root");
    assert.equal(r.status, "pass");
    assert.match(r.message, /on AWS's list as amazonrootca1 \(AWS's TrustedCertificateAuthorities of \d{4}-\d{2}-\d{2}\)/);
  });

  test("fail: a private root for an AWS endpoint, with the fix", async () => {
    const r = await result(fakeDeps(), { config: configWith(good), groups, ...production }, "tls.root");
    assert.equal(r.status, "fail");
    assert.match(r.message, /ends at O=xksctl doctor test, CN=doctor test root .*: a private root, which AWS KMS does not trust for external key stores$/);
    assert.equal(r.fix, `For AWS, install a certificate from a public CA on AWS's list (${AWS_XKS_TRUSTED_ROOTS.source}) as ${good.cert}, its intermediates after it.`);
  });

  test("fail: the chain ends at an intermediate of an unknown CA", async () => {
    const noRoot = pki.files("unknown", leafPem + pki.intermediatePem, fs.readFileSync(good.key, "utf8"));
    const r = await result(fakeDeps(), { config: configWith(noRoot), groups, ...production }, "tls.root");
    assert.equal(r.status, "fail");
    assert.match(r.message, /issued by O=xksctl doctor test, CN=doctor test root, which is neither in .* nor in Node\.js's root store: a private CA/);
  });

  test("warn: a self-signed certificate on a local setup (no --endpoint)", async () => {
    const local = selfSigned(tmpDir(), ["localhost"], ["127.0.0.1"]);
    const r = await result(fakeDeps(), { config: configWith(local), groups }, "tls.root");
    assert.equal(r.status, "warn");
    assert.match(r.message, /: a self-signed certificate, which AWS KMS does not trust for external key stores \(fine for this local setup: no --endpoint for AWS given\)$/);
  });

  test("warn: only on the update proposed upstream; warn: dropped by it", async () => {
    const proposedOnly = await result(fakeDeps({ trustedRoots: listing(["00".repeat(32)], [pki.rootSha256]) }), { config: configWith(good), groups, ...production }, "tls.root");
    assert.equal(proposedOnly.status, "warn");
    assert.match(proposedOnly.message, /only on the update proposed upstream \(https:\/\/example\.test\/pr\) as proposed0/);
    const dropped = await result(fakeDeps({ trustedRoots: listing([pki.rootSha256], ["00".repeat(32)]) }), { config: configWith(good), groups, ...production }, "tls.root");
    assert.equal(dropped.status, "warn");
    assert.match(dropped.message, /on AWS's list as root0, but the update proposed upstream .* drops it/);
  });

  test("warn: the list is not shipped: 'unknown'", async () => {
    const r = await result(fakeDeps({ trustedRoots: listing([]) }), { config: configWith(good), groups, ...production }, "tls.root");
    assert.equal(r.status, "warn");
    assert.match(r.message, /^unknown: AWS's list of trusted roots is not shipped/);
    assert.match(r.fix!, /scripts\/refresh-trusted-roots\.mjs/);
  });
});
