/** The doctor runner: registry rules, needs and skips, every check runs after a failure, groups, exit code. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { describe, test } from "node:test";
import { ERROR_CATALOGUE, XksctlError, type ErrorCode } from "../../../src/errors.js";
import { DOCTOR_CHECKS, DOCTOR_GROUPS, assertRegistry, runDoctor, selectChecks, type DoctorCheck } from "../../../src/workflows/doctor/index.js";
import { failOf, notApplicable } from "../../../src/workflows/doctor/types.js";
import { fakeDeps } from "./fixture.js";

const check = (id: string, needs: string[], outcome: () => Promise<{ status: "pass" | "warn" | "fail" | "skip"; message: string; fix?: string }>): DoctorCheck => ({
  id,
  group: id.split(".")[0] as DoctorCheck["group"],
  title: id,
  needs,
  run: outcome,
});

describe("the registry", () => {
  test("ids are unique, named after their group, and every need runs before the check", () => {
    assertRegistry(DOCTOR_CHECKS);
    assert.deepEqual([...new Set(DOCTOR_CHECKS.map((c) => c.group))], [...DOCTOR_GROUPS]);
  });

  test("assertRegistry refuses a need that runs later, a duplicate id and a misnamed id", () => {
    const a = check("settings.a", [], async () => ({ status: "pass", message: "" }));
    const b = check("settings.b", ["settings.a"], async () => ({ status: "pass", message: "" }));
    assert.throws(() => assertRegistry([b, a]), /needs settings.a, which does not run before it/);
    assert.throws(() => assertRegistry([a, a]), /registered twice/);
    assert.throws(() => assertRegistry([{ ...a, group: "tls" }]), /not named after its group/);
  });

  test("docs/doctor.md lists every check id with what it checks and its fix", () => {
    const doc = fs.readFileSync("docs/doctor.md", "utf8");
    const rows = new Set([...doc.matchAll(/^\| `([a-z0-9]+\.[a-z0-9-]+)` \|/gm)].map((m) => m[1]));
    assert.deepEqual([...rows].sort(), DOCTOR_CHECKS.map((c) => c.id).sort());
  });
});

describe("running", () => {
  const calls: string[] = [];
  const registry = [
    check("settings.first", [], async () => {
      calls.push("first");
      return { status: "fail", message: "broken", fix: "mend it" };
    }),
    check("settings.second", ["settings.first"], async () => {
      calls.push("second");
      return { status: "pass", message: "never" };
    }),
    check("settings.third", ["settings.second"], async () => {
      calls.push("third");
      return { status: "pass", message: "never" };
    }),
    check("tls.independent", [], async () => {
      calls.push("independent");
      return { status: "warn", message: "meh" };
    }),
    check("tls.throws", [], async () => {
      throw new XksctlError("XKS_TLS_FILES", "Cannot read cert.pem (ENOENT)");
    }),
    check("tls.bug", [], async () => {
      throw new TypeError("x is undefined");
    }),
    check("endpoint.na", [], async () => notApplicable("nothing here")),
    check("endpoint.after-na", ["endpoint.na"], async () => ({ status: "pass", message: "never" })),
    check("endpoint.after-after-na", ["endpoint.after-na"], async () => ({ status: "pass", message: "never" })),
    check("endpoint.skipped", [], async () => ({ status: "skip", message: "not applicable, in words only" })),
    check("endpoint.after-skipped", ["endpoint.skipped"], async () => ({ status: "pass", message: "never" })),
  ];

  test("a failed need skips its dependants ('needs: <id>'), all other checks still run, exit 1", async () => {
    calls.length = 0;
    const seen: string[] = [];
    const report = await runDoctor(fakeDeps(), {}, { checks: registry, onResult: (r) => seen.push(r.id) });
    const by = new Map(report.checks.map((c) => [c.id, c]));
    assert.deepEqual(calls, ["first", "independent"]);
    assert.deepEqual(seen, registry.map((c) => c.id));
    assert.deepEqual([by.get("settings.second")!.status, by.get("settings.second")!.message], ["skip", "needs: settings.first"]);
    assert.deepEqual([by.get("settings.third")!.status, by.get("settings.third")!.message], ["skip", "needs: settings.second"]);
    assert.deepEqual([by.get("settings.first")!.status, by.get("settings.first")!.fix], ["fail", "mend it"]);
    assert.equal(by.get("tls.independent")!.fix, "See docs/doctor.md for this check.");
    assert.equal(by.get("settings.second")!.fix, null);
    assert.equal(report.exitCode, 1);
    assert.deepEqual(report.summary, { pass: 0, warn: 1, fail: 3, skip: 7 });
  });

  test("a thrown XksctlError fails the check with its remedy (reworded where the catalogue's sends the admin to doctor); any other throw says it is a bug", async () => {
    const report = await runDoctor(fakeDeps(), {}, { checks: registry });
    const by = new Map(report.checks.map((c) => [c.id, c]));
    assert.deepEqual(
      [by.get("tls.throws")!.status, by.get("tls.throws")!.message, by.get("tls.throws")!.fix],
      ["fail", "Cannot read cert.pem (ENOENT)", "Check [tls] tls_cert_pem / tls_key_pem point at readable PEM files (xksctl init can create them); the tls checks show key, chain, dates, names and root."],
    );
    assert.equal(by.get("tls.bug")!.status, "fail");
    assert.match(by.get("tls.bug")!.message, /the check itself failed: x is undefined/);
    assert.match(by.get("tls.bug")!.fix!, /bug in xksctl/);
  });

  test("failOf: no fix inside doctor sends the admin back to doctor; every other remedy is the error's own", () => {
    for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
      const err = new XksctlError(code, "m");
      const out = failOf(err);
      assert.deepEqual([out.status, out.message], ["fail", "m"]);
      assert.doesNotMatch(out.fix!, /xksctl doctor/, code);
      if (!/xksctl doctor/.test(err.remedy)) assert.equal(out.fix, err.remedy, code);
    }
    assert.equal(failOf(new XksctlError("XKS_TOOL_TIMEOUT", "m")).fix, "Check the hardserver (`/opt/nfast/sbin/init.d-ncipher restart`) and run `enquiry` by hand; retry when the HSM is idle.");
    assert.equal(failOf(new XksctlError("XKS_HSM_SESSION", "m", { remedy: "Free a session." })).fix, "Free a session.");
  });

  test("'not applicable' passes down to the dependants unchanged, and on to theirs; another skip is 'needs: <id>'", async () => {
    const report = await runDoctor(fakeDeps(), {}, { checks: registry });
    const message = (id: string) => report.checks.find((c) => c.id === id)!.message;
    assert.equal(message("endpoint.na"), "not applicable: nothing here");
    assert.equal(message("endpoint.after-na"), "not applicable: nothing here");
    assert.equal(message("endpoint.after-after-na"), "not applicable: nothing here");
    assert.equal(message("endpoint.after-skipped"), "needs: endpoint.skipped");
  });

  test("warnings alone exit 0", async () => {
    const report = await runDoctor(fakeDeps(), {}, { checks: [registry[3]!] });
    assert.equal(report.exitCode, 0);
  });

  test("--group runs its checks and everything they need, in registry order", () => {
    const ids = selectChecks(DOCTOR_CHECKS, ["live"], "local").map((c) => c.id);
    assert.deepEqual(ids, ["settings.file", "settings.valid", "network.listen", "live.health", "live.metadata", "live.crypto", "live.auth", "live.clock"]);
    assert.deepEqual(selectChecks(DOCTOR_CHECKS, ["pkcs11"], "local").map((c) => c.group).filter((g, i, a) => a.indexOf(g) === i), ["settings", "pkcs11"]);
  });

  test("--url mode runs the live group only and ignores local needs", async () => {
    const ids = selectChecks(DOCTOR_CHECKS, undefined, "url").map((c) => c.id);
    assert.deepEqual(ids, DOCTOR_CHECKS.filter((c) => c.group === "live").map((c) => c.id));
  });
});
