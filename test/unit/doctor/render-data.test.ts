/**
 * The report's rendering (one line per check, a fix line under warnings and failures, colours
 * only when allowed) and the shipped AWS trusted-roots data with its refresh script's parser.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import tls from "node:tls";
import { describe, test } from "node:test";
import { AWS_XKS_TRUSTED_ROOTS } from "../../../src/data/aws-xks-trusted-roots.js";
import { doctorJson, doctorRenderer, useColour, type DoctorReportView } from "../../../src/ui/doctor-report.js";
// The refresh script is plain JavaScript run by node; its parser is exported for this test.
import { parseKeytoolListing } from "../../../scripts/refresh-trusted-roots.mjs";

const report: DoctorReportView = {
  mode: "local",
  target: "/etc/xksctl/settings.toml",
  checks: [
    { id: "settings.file", group: "settings", status: "pass", message: "found", fix: null, duration: 1 },
    { id: "tls.root", group: "tls", status: "warn", message: "self-signed", fix: "use a public CA", duration: 2 },
    { id: "network.listen", group: "network", status: "fail", message: "refused", fix: "start it", duration: 3 },
    { id: "live.health", group: "live", status: "skip", message: "needs: network.listen", fix: null, duration: 0 },
  ],
  summary: { pass: 1, warn: 1, fail: 1, skip: 1 },
  exitCode: 1,
};

describe("rendering", () => {
  test("one line per check; the fix under warnings and failures only; a summary", () => {
    const r = doctorRenderer({ colour: false, idWidth: 14 });
    const text = report.checks.map((c) => r.line(c)).join("") + r.summary(report);
    assert.equal(
      text,
      [
        "✔ pass  settings.file   found",
        "! warn  tls.root        self-signed",
        "                        → use a public CA",
        "✖ FAIL  network.listen  refused",
        "                        → start it",
        "- skip  live.health     skipped: needs: network.listen",
        "",
        "✖ problems found (/etc/xksctl/settings.toml): 1 passed, 1 warning, 1 failed, 1 skipped",
        "",
      ].join("\n"),
    );
  });

  test("colours: only on a terminal, never with NO_COLOR or TERM=dumb; FORCE_COLOR forces them", () => {
    assert.equal(useColour({}, true), true);
    assert.equal(useColour({}, false), false);
    assert.equal(useColour({ NO_COLOR: "1" }, true), false);
    assert.equal(useColour({ TERM: "dumb" }, true), false);
    assert.equal(useColour({ FORCE_COLOR: "1" }, false), true);
    assert.equal(useColour({ FORCE_COLOR: "0" }, true), false);
    assert.match(doctorRenderer({ colour: true, idWidth: 4 }).line(report.checks[2]!), /\x1b\[31m/);
    assert.doesNotMatch(doctorRenderer({ colour: false, idWidth: 4 }).line(report.checks[2]!), /\x1b\[/);
  });

  test("--json: ok, summary and each check's id, group, status, message, fix, duration", () => {
    const j = doctorJson(report) as { ok: boolean; checks: Record<string, unknown>[] };
    assert.equal(j.ok, false);
    assert.deepEqual(j.checks[1], { id: "tls.root", group: "tls", status: "warn", message: "self-signed", fix: "use a public CA", duration: 2 });
  });
});

describe("AWS's trusted roots, shipped as data", () => {
  const { published, proposed } = AWS_XKS_TRUSTED_ROOTS.lists;

  test("each list records its source, commit and date; fingerprints are 64 hex digits, unique", () => {
    for (const list of [published, proposed!]) {
      assert.match(list.url, /^https:\/\/github\.com\/aws\/aws-kms-xksproxy-api-spec\//);
      assert.match(list.commit ?? "", /^[0-9a-f]{40}$/);
      assert.match(list.retrieved, /^\d{4}-\d{2}-\d{2}$/);
      assert.ok(list.roots.length > 100, `${list.roots.length} roots`);
      for (const r of list.roots) assert.match(r.sha256, /^[0-9a-f]{64}$/, r.alias);
      assert.equal(new Set(list.roots.map((r) => r.sha256)).size, list.roots.length);
    }
  });

  test("the fingerprints match the certificates of Node.js's root store for the same roots (transcription check)", () => {
    const store = new Map(tls.rootCertificates.map((p) => [new X509Certificate(p).fingerprint256.replace(/:/g, "").toLowerCase(), new X509Certificate(p).subject]));
    const known = published.roots.filter((r) => store.has(r.sha256));
    assert.ok(known.length >= 100, `${known.length} of ${published.roots.length} published roots are in Node.js's store`);
    const amazon1 = published.roots.find((r) => r.alias === "amazonrootca1")!;
    assert.match(store.get(amazon1.sha256) ?? "", /CN=Amazon Root CA 1/);
    const isrg = published.roots.find((r) => r.alias === "isrgrootx1")!;
    assert.match(store.get(isrg.sha256) ?? "", /CN=ISRG Root X1/);
  });

  test("the refresh script reads AWS's keytool listing (including its stray text after a fingerprint)", () => {
    const listing = [
      "Alias name: amazonrootca1",
      "Owner: CN=Amazon Root CA 1, O=Amazon, C=US",
      "Certificate fingerprints:",
      "\t SHA1: 8D:A7:F9:65:EC:5E:FC:37:91:0F:1C:6E:59:FD:C1:CC:6A:6E:DE:16",
      "\t SHA256: 8E:CD:E6:88:4F:3D:87:B1:12:5B:A3:1A:C3:FC:B1:3D:70:16:DE:7F:57:CC:90:4F:E1:CB:97:C6:AE:98:19:6E                 .7",
      "*".repeat(86),
      "Alias name: second",
      "\t SHA256: " + "AB:".repeat(31) + "CD",
    ].join("\n");
    assert.deepEqual(parseKeytoolListing(listing), [
      { alias: "amazonrootca1", sha256: "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e" },
      { alias: "second", sha256: `${"ab".repeat(31)}cd` },
    ]);
    assert.throws(() => parseKeytoolListing("Alias name: lonely\n"), /root lonely has no SHA256 fingerprint line/);
    assert.throws(() => parseKeytoolListing(listing + "\nAlias name: again\n\t SHA256: " + "AB:".repeat(31) + "CD\n"), /appears twice/);
  });
});
