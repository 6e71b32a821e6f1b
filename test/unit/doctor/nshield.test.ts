/**
 * Group `nshield` through the nShield TEST STAND-INS (test/fixtures/nfast: real arguments and
 * output formats, switchable failures): each check passes, and fails or warns for its main reason.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, describe, test } from "node:test";
import { ERROR_CATALOGUE } from "../../../src/errors.js";
import { createExec, findTool, type Exec } from "../../../src/platform/exec.js";
import { createStandinWorld, type StandinWorld } from "../../helpers/operator.js";
import { fakeDeps, result, runChecks, settingsFile, tmpDir } from "./fixture.js";

const worlds: StandinWorld[] = [];
after(() => worlds.forEach((w) => w.cleanup()));

/** A stand-in nShield machine; keys are written straight into its kmdata (no token needed). */
function machine(extraEnv: NodeJS.ProcessEnv = {}, keys: { name: string; protect: "module" | "token" }[] = [{ name: "foo", protect: "module" }]) {
  const w = createStandinWorld(undefined, extraEnv);
  worlds.push(w);
  for (const [i, k] of keys.entries()) {
    const ident = k.protect === "module" ? `ua${String(i).padStart(40, "0")}` : `uc${"a".repeat(40)}-${String(i).padStart(40, "0")}`;
    fs.writeFileSync(path.join(w.home, "kmdata", "local", `key_pkcs11_${ident}`), JSON.stringify({ standin: true, app: "pkcs11", ident, plainname: k.name, protect: k.protect }));
  }
  const env = { ...w.env, ...extraEnv };
  const deps = (over: Parameters<typeof fakeDeps>[0] = {}) => fakeDeps({ env, exec: createExec(env), findTool: (t) => findTool(t, env), ...over });
  return { w, env, deps, config: settingsFile(tmpDir()) };
}

const groups = ["nshield" as const];

describe("applicability", () => {
  test("a SoftHSM machine without nShield tools: every nShield check is 'not applicable', nothing fails", async () => {
    const results = await runChecks(fakeDeps(), { config: settingsFile(tmpDir()), groups });
    const nshield = [...results.values()].filter((r) => r.group === "nshield");
    assert.equal(nshield.length, 9);
    for (const r of nshield) {
      assert.equal(r.status, "skip", r.id);
      assert.match(r.message, /^not applicable: no nShield here \(PKCS#11 library libsofthsm2\.so, no nShield tools installed\)$/);
    }
  });

  test("fail: libcknfast in the settings but no tools; the fix is the catalogue's", async () => {
    const config = settingsFile(tmpDir(), { pkcs11: { PKCS11_HSM_MODULE: "/opt/nfast/toolkits/pkcs11/libcknfast.so" } });
    const r = await result(fakeDeps(), { config, groups }, "nshield.tools");
    assert.equal(r.status, "fail");
    assert.equal(r.message, "enquiry, nfkminfo not found on PATH, in $NFAST_HOME/bin or in /opt/nfast/bin");
    assert.equal(r.fix, ERROR_CATALOGUE.XKS_TOOL_MISSING.remedy);
  });

  test("--group nshield runs the checks even where nothing looks like nShield", async () => {
    const r = await result(fakeDeps(), { config: settingsFile(tmpDir()), groups, explicitGroups: true }, "nshield.tools");
    assert.equal(r.status, "fail");
  });
});

describe("nshield.tools", () => {
  test("pass: the stand-ins on PATH", async () => {
    const m = machine();
    const r = await result(m.deps(), { config: m.config, groups }, "nshield.tools");
    assert.equal(r.status, "pass");
    assert.match(r.message, /enquiry, nfkminfo, generatekey, createocs in .*test\/fixtures\/nfast\/bin/);
  });

  test("warn: generatekey and createocs missing", async () => {
    const m = machine();
    const r = await result(m.deps({ findTool: (t) => (["enquiry", "nfkminfo"].includes(t) ? "/opt/nfast/bin/" + t : undefined) }), { config: m.config, groups }, "nshield.tools");
    assert.equal(r.status, "warn");
    assert.match(r.message, /generatekey, createocs not found/);
  });
});

describe("nshield.hardserver / world / modules (stand-in failure modes)", () => {
  test("pass: operational hardserver, usable world and module", async () => {
    const m = machine();
    const res = await runChecks(m.deps(), { config: m.config, groups });
    assert.deepEqual([res.get("nshield.hardserver")!.status, res.get("nshield.hardserver")!.message], ["pass", "operational, version 13.3.2"]);
    assert.deepEqual([res.get("nshield.world")!.status, res.get("nshield.world")!.message], ["pass", "Initialised Usable (generation 2)"]);
    assert.deepEqual([res.get("nshield.modules")!.status, res.get("nshield.modules")!.message], ["pass", "module #1 (ESN 530E-02E0-D947) usable"]);
  });

  test("fail: the hardserver is down; the world and module checks are skipped (needs: nshield.hardserver)", async () => {
    const m = machine({ NFAST_STANDIN_FAIL: "hardserver-down" });
    const res = await runChecks(m.deps(), { config: m.config, groups });
    const h = res.get("nshield.hardserver")!;
    assert.equal(h.status, "fail");
    assert.match(h.message, /enquiry: the nShield hardserver is not running/);
    assert.equal(h.fix, ERROR_CATALOGUE.XKS_HARDSERVER_DOWN.remedy);
    assert.deepEqual([res.get("nshield.world")!.status, res.get("nshield.world")!.message], ["skip", "needs: nshield.hardserver"]);
  });

  test("fail: the world is not usable", async () => {
    const m = machine({ NFAST_STANDIN_FAIL: "world-unusable" });
    const r = await result(m.deps(), { config: m.config, groups }, "nshield.world");
    assert.deepEqual([r.status, r.message, r.fix], ["fail", "the Security World is not usable (state 0x37000001 Initialised !Usable Recovery)", ERROR_CATALOGUE.XKS_WORLD_UNUSABLE.remedy]);
  });

  test("fail: a module is not usable", async () => {
    const m = machine({ NFAST_STANDIN_FAIL: "module-unusable" });
    const r = await result(m.deps(), { config: m.config, groups }, "nshield.modules");
    assert.equal(r.status, "fail");
    assert.match(r.message, /Module #1 is not usable \(state 0x1 PreInitMode\); Module #1: enquiry reports mode initialization, flags Offline/);
    assert.equal(r.fix, ERROR_CATALOGUE.XKS_MODULE_UNUSABLE.remedy);
  });
});

describe("nshield.world-mode", () => {
  test("pass: mode none", async () => {
    const m = machine();
    assert.equal((await result(m.deps(), { config: m.config, groups }, "nshield.world-mode")).message, "world mode none");
  });

  test("warn: a FIPS 140 Level 3 world needs a card to create keys", async () => {
    const m = machine({ NFAST_STANDIN_WORLD_MODE: "fips1402level3" });
    const r = await result(m.deps(), { config: m.config, groups }, "nshield.world-mode");
    assert.equal(r.status, "warn");
    assert.match(r.fix!, /`xksctl keys create`/);
  });
});

describe("nshield.network", () => {
  const withConfig = (m: ReturnType<typeof machine>, text: string) => {
    fs.mkdirSync(path.join(m.w.home, "kmdata", "config"), { recursive: true });
    fs.writeFileSync(path.join(m.w.home, "kmdata", "config", "config"), text);
  };

  test("not applicable without network HSMs", async () => {
    const m = machine();
    const r = await result(m.deps(), { config: m.config, groups }, "nshield.network");
    assert.equal(r.status, "skip");
    assert.match(r.message, /^not applicable: no .*kmdata\/config\/config \(no network HSM configured\)$/);
  });

  test("pass: the HSM answers on its port; fail: it does not, naming address and port", async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const open = (server.address() as net.AddressInfo).port;
    const m = machine();
    const deps = m.deps({
      tcpConnect: (host, port, timeoutMs) =>
        new Promise((resolve, reject) => {
          const s = net.connect({ host, port }, () => {
            s.destroy();
            resolve();
          });
          s.setTimeout(timeoutMs, () => s.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
          s.on("error", reject);
        }),
    });
    withConfig(m, `syntax-version=1\n\n[nethsm_imports]\nlocal_module=1\nremote_esn=530E-02E0-D947\nremote_ip=127.0.0.1\nremote_port=${open}\nkeyhash=00\nprivileged=0\n`);
    const ok = await result(deps, { config: m.config, groups }, "nshield.network");
    assert.deepEqual([ok.status, ok.message], ["pass", `127.0.0.1:${open} reachable`]);
    await new Promise((r) => server.close(r));
    withConfig(m, `[nethsm_imports]\nremote_esn=530E-02E0-D947\nremote_ip=127.0.0.1\nremote_port=${open}\n-----\nremote_ip=127.0.0.2\n`);
    const down = await result(deps, { config: m.config, groups }, "nshield.network");
    assert.equal(down.status, "fail");
    assert.match(down.message, new RegExp(`not reachable: 127\\.0\\.0\\.1:${open} \\(ESN 530E-02E0-D947\\) ECONNREFUSED`));
    assert.match(down.fix!, /^Open TCP \d+ from this host to the HSM/);
  });
});

describe("nshield.cardlist", () => {
  test("not applicable for module-protected keys", async () => {
    const m = machine();
    const r = await result(m.deps(), { config: m.config, groups }, "nshield.cardlist");
    assert.equal(r.status, "skip");
    assert.match(r.message, /^not applicable: module protection/);
  });

  test("OCS keys: fail without a cardlist, fail when it is empty, pass with *", async () => {
    const m = machine({}, [{ name: "foo", protect: "token" }]);
    const file = path.join(m.w.home, "kmdata", "config", "cardlist");
    const missing = await result(m.deps(), { config: m.config, groups }, "nshield.cardlist");
    assert.equal(missing.status, "fail");
    assert.match(missing.message, /the keys are OCS-protected but .*cardlist is missing \(ENOENT\)/);
    assert.equal(missing.fix, `Write the card serial numbers (or * for any card), one a line, into ${file}, then restart the hardserver.`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, "# no cards yet\n");
    assert.equal((await result(m.deps(), { config: m.config, groups }, "nshield.cardlist")).status, "fail");
    fs.writeFileSync(file, "*\n");
    const ok = await result(m.deps(), { config: m.config, groups }, "nshield.cardlist");
    assert.deepEqual([ok.status, ok.message], ["pass", `${file} admits any card (*)`]);
  });
});

describe("nshield.cknfastrc", () => {
  test("module keys: fail without CKNFAST_FAKE_ACCELERATOR_LOGIN=1, pass with it", async () => {
    const m = machine();
    const rc = path.join(m.w.home, "cknfastrc");
    fs.writeFileSync(rc, "CKNFAST_LOADSHARING=1\n");
    const bad = await result(m.deps(), { config: m.config, groups }, "nshield.cknfastrc");
    assert.equal(bad.status, "fail");
    assert.match(bad.message, /^module protection \(the stores' keys in `nfkminfo -l`\) but CKNFAST_FAKE_ACCELERATOR_LOGIN=\(unset\), needs 1 in /);
    assert.equal(bad.fix, "Run `xksctl config cknfastrc --protection module`, then restart the proxy.");
    fs.writeFileSync(rc, "CKNFAST_LOADSHARING=1\nCKNFAST_FAKE_ACCELERATOR_LOGIN=1\n");
    assert.equal((await result(m.deps(), { config: m.config, groups }, "nshield.cknfastrc")).status, "pass");
  });

  test("module keys: CKNFAST_NO_ACCELERATOR_SLOTS=1 hides them; the environment overrides the file", async () => {
    const m = machine();
    fs.writeFileSync(path.join(m.w.home, "cknfastrc"), "CKNFAST_FAKE_ACCELERATOR_LOGIN=1\nCKNFAST_NO_ACCELERATOR_SLOTS=1\n");
    const r = await result(m.deps(), { config: m.config, groups }, "nshield.cknfastrc");
    assert.match(r.message, /CKNFAST_NO_ACCELERATOR_SLOTS=1, needs 0/);
    fs.writeFileSync(path.join(m.w.home, "cknfastrc"), "CKNFAST_FAKE_ACCELERATOR_LOGIN=1\n");
    const env = await result(m.deps({ env: { ...m.env, CKNFAST_FAKE_ACCELERATOR_LOGIN: "0" } }), { config: m.config, groups }, "nshield.cknfastrc");
    assert.equal(env.status, "fail");
    assert.match(env.message, /CKNFAST_FAKE_ACCELERATOR_LOGIN=0 \(from the environment\), needs 1/);
  });

  test("OCS keys: fail without CKNFAST_NO_ACCELERATOR_SLOTS=1", async () => {
    const m = machine({}, [{ name: "foo", protect: "token" }]);
    fs.writeFileSync(path.join(m.w.home, "cknfastrc"), "CKNFAST_FAKE_ACCELERATOR_LOGIN=1\n");
    const r = await result(m.deps(), { config: m.config, groups }, "nshield.cknfastrc");
    assert.equal(r.status, "fail");
    assert.match(r.message, /^ocs protection .*CKNFAST_NO_ACCELERATOR_SLOTS=\(unset\), needs 1/);
    assert.equal(r.fix, "Run `xksctl config cknfastrc --protection ocs`, then restart the proxy.");
  });
});

describe("nshield.ha", () => {
  /** The stand-in shows one module; this exec adds a second to nfkminfo's world output. */
  const twoModules = (inner: Exec): Exec => ({
    async run(req) {
      const r = await inner.run(req);
      if (req.tool !== "nfkminfo" || req.args.length > 0) return r;
      return { ...r, stdout: r.stdout.replace("No Pre-Loaded Objects", "Module #2\n generation 2\n state      0x2 Usable\n esn        1111-2222-3333\nNo Pre-Loaded Objects") };
    },
  });

  test("pass: one module", async () => {
    const m = machine();
    assert.equal((await result(m.deps(), { config: m.config, groups }, "nshield.ha")).status, "pass");
  });

  test("warn: two modules without load sharing; pass with CKNFAST_LOADSHARING=1", async () => {
    const m = machine();
    const rc = path.join(m.w.home, "cknfastrc");
    fs.writeFileSync(rc, "CKNFAST_FAKE_ACCELERATOR_LOGIN=1\n");
    const deps = m.deps({ exec: twoModules(createExec(m.env)) });
    const r = await result(deps, { config: m.config, groups }, "nshield.ha");
    assert.equal(r.status, "warn");
    assert.match(r.message, /^2 modules, but CKNFAST_LOADSHARING is not 1: .*no HA/);
    assert.equal(r.fix, `Add CKNFAST_LOADSHARING=1 to ${rc}, then restart the proxy.`);
    fs.writeFileSync(rc, "CKNFAST_FAKE_ACCELERATOR_LOGIN=1\nCKNFAST_LOADSHARING=1\n");
    assert.equal((await result(deps, { config: m.config, groups }, "nshield.ha")).message, "2 modules with load sharing");
  });
});
