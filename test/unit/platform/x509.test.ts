/** TLS file checks over PEM text: parse, key match, order, completeness, validity, names. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { isXksctlError } from "../../../src/errors.js";
import { assembleChain, checkChain, endpointNameProblem, parseChain, rootFingerprint, type TlsProblemCode } from "../../../src/platform/x509.js";
import { createTestCa, type TestCa } from "../../helpers/ca.js";

let ca: TestCa;
let leaf: { certPem: string; keyPem: string };
const NAME = "xks.example.com";
// a minute ahead: certificates made during the run start at the current second
const now = new Date(Date.now() + 60_000);
const codes = (r: { problems: { code: TlsProblemCode; severity: string }[] }): string[] => r.problems.map((p) => `${p.severity}:${p.code}`).sort();

before(() => {
  ca = createTestCa();
  leaf = ca.newLeaf([NAME, "*.wild.example.com"]);
});
after(() => fs.rmSync(ca.dir, { recursive: true, force: true }));

describe("parseChain", () => {
  test("reads every certificate in file order with names, dates, fingerprint, CA and self-signed flags", () => {
    const chain = parseChain(leaf.certPem + ca.intermediatePem + ca.rootPem);
    assert.equal(chain.length, 3);
    const [l, i, r] = chain as [NonNullable<(typeof chain)[0]>, NonNullable<(typeof chain)[0]>, NonNullable<(typeof chain)[0]>];
    assert.equal(l.subject, `CN=${NAME}`);
    assert.equal(l.issuer, "O=xksctl test, CN=xksctl test intermediate");
    assert.deepEqual(l.dnsNames, [NAME, "*.wild.example.com"]);
    assert.deepEqual(l.ipAddresses, []);
    assert.equal(l.isCA, false);
    assert.equal(l.selfSigned, false);
    assert.equal(i.isCA, true);
    assert.equal(i.selfSigned, false);
    assert.equal(r.isCA, true);
    assert.equal(r.selfSigned, true);
    const der = new crypto.X509Certificate(ca.rootPem).raw;
    assert.equal(r.fingerprint256, crypto.createHash("sha256").update(der).digest("hex"));
    assert.match(r.fingerprint256, /^[0-9a-f]{64}$/);
    assert.ok(l.notBefore.getTime() <= now.getTime() + 1000 && l.notAfter.getTime() > now.getTime());
    assert.equal(rootFingerprint(chain), r.fingerprint256);
    assert.equal(rootFingerprint([]), undefined);
  });

  test("text without certificates gives []; a broken certificate block throws XKS_TLS_FILES", () => {
    assert.deepEqual(parseChain(leaf.keyPem), []);
    const broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert.throws(() => parseChain(leaf.certPem + broken), (e: unknown) => isXksctlError(e) && e.code === "XKS_TLS_FILES" && /Certificate 2/.test(e.message));
  });

  test("IP subjectAltNames are listed apart from DNS names", () => {
    const pem = execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "/dev/null", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const [c] = parseChain(pem);
    assert.deepEqual(c?.dnsNames, ["localhost"]);
    assert.equal(c?.ipAddresses[0], "127.0.0.1");
    assert.equal(c?.ipAddresses.length, 2);
  });
});

describe("checkChain", () => {
  test("a full chain for the endpoint with its key has no problem", () => {
    const r = checkChain(leaf.certPem + ca.intermediatePem, { keyPem: leaf.keyPem, now, endpoint: NAME });
    assert.deepEqual(r.problems, []);
    assert.equal(r.leaf?.subject, `CN=${NAME}`);
    assert.equal(r.chain.length, 2);
    // the root may be included too
    assert.deepEqual(checkChain(leaf.certPem + ca.intermediatePem + ca.rootPem, { keyPem: leaf.keyPem, now, endpoint: NAME }).problems, []);
  });

  test("another certificate's key is key-mismatch", () => {
    const other = ca.newLeaf([NAME]);
    assert.deepEqual(codes(checkChain(leaf.certPem + ca.intermediatePem, { keyPem: other.keyPem, now })), ["fail:key-mismatch"]);
  });

  test("a key file that is not a key, or is encrypted, is unparsable", () => {
    assert.deepEqual(codes(checkChain(leaf.certPem + ca.intermediatePem, { keyPem: "nonsense", now })), ["fail:unparsable"]);
    const enc = crypto.createPrivateKey(leaf.keyPem).export({ format: "pem", type: "pkcs8", cipher: "aes-256-cbc", passphrase: "pw" }) as string;
    const r = checkChain(leaf.certPem + ca.intermediatePem, { keyPem: enc, now });
    assert.deepEqual(codes(r), ["fail:unparsable"]);
    assert.match(r.problems[0]!.message, /encrypted/);
  });

  test("intermediate before the leaf is chain-order, naming where the issuer is", () => {
    const r = checkChain(ca.intermediatePem + leaf.certPem, { now });
    assert.ok(codes(r).includes("fail:chain-order"), codes(r).join());
    const r2 = checkChain(leaf.certPem + ca.rootPem + ca.intermediatePem, { now });
    assert.deepEqual(codes(r2), ["fail:chain-order", "fail:chain-order"]);
    assert.match(r2.problems[0]!.message, /certificate 3/);
  });

  test("a certificate of another CA after the leaf is chain-order", () => {
    const other = createTestCa();
    try {
      assert.deepEqual(codes(checkChain(leaf.certPem + other.intermediatePem, { now })), ["fail:chain-order"]);
    } finally {
      fs.rmSync(other.dir, { recursive: true, force: true });
    }
  });

  test("the leaf alone is chain-incomplete; a self-signed leaf alone is not", () => {
    const r = checkChain(leaf.certPem, { keyPem: leaf.keyPem, now });
    assert.deepEqual(codes(r), ["fail:chain-incomplete"]);
    assert.match(r.problems[0]!.message, /xksctl test intermediate/);
    const ss = ca.selfSigned([NAME]);
    assert.deepEqual(codes(checkChain(ss.certPem, { keyPem: ss.keyPem, now, endpoint: NAME })), []);
  });

  test("validity: expired, not yet valid, expiring within warnDays", () => {
    const short = ca.newLeaf([NAME], { days: 10 });
    const chain = short.certPem + ca.intermediatePem;
    const notAfter = parseChain(short.certPem)[0]!.notAfter;
    const late = new Date(notAfter.getTime() + 1000);
    assert.ok(codes(checkChain(chain, { now: late })).includes("fail:expired"));
    const early = new Date(parseChain(short.certPem)[0]!.notBefore.getTime() - 86_400_000);
    assert.deepEqual(codes(checkChain(chain, { now: early })), ["fail:not-yet-valid", "fail:not-yet-valid"]);
    // 10-day leaf: warned with the default 30 days, not with 5
    const soon = checkChain(chain, { now });
    assert.deepEqual(codes(soon), ["warn:expires-soon"]);
    assert.match(soon.problems[0]!.message, /in (9|10) days/);
    assert.deepEqual(codes(checkChain(chain, { now, warnDays: 5 })), []);
  });

  test("names: exact, wildcard of one label, other names and IPs", () => {
    const chain = leaf.certPem + ca.intermediatePem;
    const r = (endpoint: string) => codes(checkChain(chain, { now, endpoint, warnDays: 0 }));
    assert.deepEqual(r("XKS.example.com"), []);
    assert.deepEqual(r("a.wild.example.com"), []);
    assert.deepEqual(r("a.b.wild.example.com"), ["fail:name-mismatch"]);
    assert.deepEqual(r("other.example.com"), ["fail:name-mismatch"]);
    assert.deepEqual(r("192.0.2.1"), ["fail:not-a-dns-name"]);
    assert.deepEqual(r("xks.example.com:443"), ["fail:not-a-dns-name"]);
    const msg = checkChain(chain, { now, endpoint: "other.example.com" }).problems.find((p) => p.code === "name-mismatch")!.message;
    assert.match(msg, /xks\.example\.com, \*\.wild\.example\.com/);
  });

  test("no certificate, garbage certificate", () => {
    assert.deepEqual(codes(checkChain("", { now })), ["fail:no-certificate"]);
    assert.deepEqual(codes(checkChain(leaf.keyPem, { now })), ["fail:no-certificate"]);
    assert.deepEqual(codes(checkChain("-----BEGIN CERTIFICATE-----\nZm9v\n-----END CERTIFICATE-----\n", { now })), ["fail:unparsable"]);
  });

  test("every message is one line", () => {
    const r = checkChain(ca.intermediatePem + leaf.certPem, { keyPem: ca.newLeaf([NAME]).keyPem, now, endpoint: "nope.example.org" });
    assert.ok(r.problems.length >= 3);
    for (const p of r.problems) assert.doesNotMatch(p.message, /\n/);
  });
});

describe("endpointNameProblem", () => {
  test("accepts fully qualified DNS names KMS takes", () => {
    for (const ok of ["xks.example.com", "a-b.c.example.co.uk", "xks.example.com.", "X1.EXAMPLE.COM"]) assert.equal(endpointNameProblem(ok), null, ok);
  });
  test("refuses schemes, ports, paths, IPs, single labels, bad labels, too long", () => {
    const cases: Array<[string, RegExp]> = [
      ["https://xks.example.com", /scheme/],
      ["xks.example.com:8443", /port/],
      ["xks.example.com/x", /path/],
      ["10.0.0.1", /IP address/],
      ["::1", /IP address/],
      ["[2001:db8::1]", /IP address/],
      ["localhost", /single label/],
      ["-a.example.com", /starts or ends/],
      ["a..example.com", /empty label/],
      ["xks_1.example.com", /"_"/],
      ["", /empty/],
      [`${"a".repeat(60)}.${"b".repeat(60)}.example.com`, /at most 120/],
      ["a.123", /numeric/],
    ];
    for (const [name, why] of cases) assert.match(endpointNameProblem(name) ?? "accepted", why, name);
  });
});

describe("assembleChain", () => {
  test("orders loose certificates leaf first by the key, drops duplicates, sets aside strangers", () => {
    const other = ca.newLeaf(["other.example.com"]);
    const r = assembleChain([ca.rootPem + ca.intermediatePem, other.certPem, leaf.certPem + ca.intermediatePem], leaf.keyPem);
    assert.deepEqual(r.chain.map((c) => c.subject), [`CN=${NAME}`, "O=xksctl test, CN=xksctl test intermediate", "O=xksctl test, CN=xksctl test root"]);
    assert.deepEqual(r.ignored.map((c) => c.subject), ["CN=other.example.com"]);
    assert.deepEqual(checkChain(r.pem, { keyPem: leaf.keyPem, now, endpoint: NAME }).problems, []);
    assert.equal(parseChain(r.pem).length, 3);
  });
  test("without a key the first non-CA certificate is the leaf; nothing gives an empty chain", () => {
    const r = assembleChain([ca.intermediatePem + leaf.certPem]);
    assert.equal(r.chain[0]!.subject, `CN=${NAME}`);
    assert.equal(r.chain.length, 2);
    assert.deepEqual(assembleChain([leaf.keyPem]), { pem: "", chain: [], ignored: [] });
  });
});
