/**
 * templates/xksctl.service as xksctl renders it (src/config/render-service.ts): `systemd-analyze
 * verify` accepts it without a single warning (verify exits 0 on "Unknown key ..., ignoring", so
 * any output fails the test), and the hardening the operations guide promises is in it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import { renderService } from "../../src/config/render-service.js";
import { ROOT } from "../helpers/serve-process.js";
import { tempDir } from "../helpers/tmp.js";

let dir: string;
before(() => (dir = tempDir("xksctl-unit-")));

const haveAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
const opts = { skip: !haveAnalyze && "systemd-analyze is missing (scripts/deps.sh installs Debian's systemd)" };

const rendered = (over: Partial<Parameters<typeof renderService>[0]> = {}) =>
  renderService({
    settingsFile: "/etc/xksctl/settings.toml",
    node: process.execPath,
    cli: path.join(ROOT, "bin/xksctl.cjs"),
    nfastHome: "/opt/nfast",
    pkcs11Module: "/opt/nfast/toolkits/pkcs11/libcknfast.so",
    readme: path.join(ROOT, "README.md"),
    ...over,
  });

/** Runs `systemd-analyze verify` on `text` saved as xksctl.service; returns the exit code and everything it printed. */
function verify(text: string, name = "xksctl.service"): { code: number | null; output: string } {
  const sub = fs.mkdtempSync(path.join(dir, "v-"));
  const file = path.join(sub, name);
  fs.writeFileSync(file, text);
  const r = spawnSync("systemd-analyze", ["verify", "--man=no", "--generators=no", file], { encoding: "utf8" });
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** The [Section] of a unit text as key → values. */
function section(text: string, name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur = "";
  for (const line of text.split("\n")) {
    const h = /^\[(.+)\]$/.exec(line);
    if (h) cur = h[1]!;
    else if (cur === name && /^[A-Za-z]+=/.test(line)) {
      const [k, ...v] = line.split("=");
      out.set(k!, [...(out.get(k!) ?? []), v.join("=")]);
    }
  }
  return out;
}

describe("the systemd unit", () => {
  test("systemd-analyze verify: no error, no warning (also with the LoadCredential= lines switched on)", opts, () => {
    assert.deepEqual(verify(rendered()), { code: 0, output: "" });
    assert.deepEqual(verify(rendered().replace(/^#LoadCredential=/gm, "LoadCredential=")), { code: 0, output: "" });
    assert.deepEqual(verify(rendered({ settingsFile: "/home/ops/xks/settings.toml" })), { code: 0, output: "" });
  });

  test("the check can fail: an unknown key, a bad syscall group or a missing program are reported", opts, () => {
    assert.match(verify(rendered().replace("[Install]", "[Install]\nWantedBy2=x")).output, /Unknown key 'WantedBy2'/);
    assert.match(verify(rendered().replace("SystemCallFilter=@system-service", "SystemCallFilter=@no-such-group")).output, /Unknown system call group/);
    const missing = verify(rendered({ node: "/nonexistent/node" }));
    assert.notEqual(missing.code, 0);
    assert.match(missing.output, /\/nonexistent\/node is not executable/);
  });

  test("hardening, the hardserver, the start limit, reload and the credentials", () => {
    const t = rendered({ nfastHome: "/srv/nfast/" });
    const unit = section(t, "Unit");
    const svc = section(t, "Service");
    const one = (k: string) => {
      assert.equal(svc.get(k)?.length, 1, `${k}= once: ${svc.get(k)}`);
      return svc.get(k)![0];
    };
    assert.match(unit.get("Wants")!.join(" "), /\bnc_hardserver\.service\b/);
    assert.match(unit.get("After")!.join(" "), /\bnc_hardserver\.service\b/);
    // A slow hardserver at boot: 100 starts in 10 minutes, 5 s apart, outlast it.
    assert.deepEqual([unit.get("StartLimitIntervalSec"), unit.get("StartLimitBurst")], [["600"], ["100"]]);
    assert.equal(one("Restart"), "on-failure");
    assert.equal(one("RestartSec"), "5");
    assert.ok(Number(unit.get("StartLimitBurst")![0]) * Number(one("RestartSec")) >= 480, "at least 8 minutes of restarts before the start limit trips");
    assert.equal(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    // kmdata is readable, not writable.
    assert.equal(one("ReadOnlyPaths"), "-/srv/nfast/kmdata");
    assert.doesNotMatch(one("ReadWritePaths")!, /kmdata/);
    assert.equal(one("ProtectSystem"), "strict");
    for (const [k, v] of [["PrivateDevices", "true"], ["ProtectKernelModules", "true"], ["ProtectProc", "invisible"], ["SystemCallFilter", "@system-service"], ["NoNewPrivileges", "true"], ["BindPaths", "-/dev/nfast"]] as const) assert.equal(one(k), v, k);
    // AF_UNIX: the hardserver socket and the worker processes' IPC; AF_INET/6: the listeners and a TCP hardserver.
    assert.deepEqual(one("RestrictAddressFamilies")!.split(" ").sort(), ["AF_INET", "AF_INET6", "AF_UNIX"]);
    // Worker processes (node:cluster) must be able to start and be stopped with the main process; V8 needs W+X memory.
    for (const k of ["TasksMax", "KillMode", "MemoryDenyWriteExecute", "PrivateNetwork", "DynamicUser"]) assert.equal(svc.get(k), undefined, `${k} is not set`);
    // The credentials: named by LoadCredential= (opt-in, commented) and found by serve under $CREDENTIALS_DIRECTORY.
    assert.match(t, /^#LoadCredential=user_pin:\/etc\/xksctl\/user_pin$/m);
    assert.match(t, /^#LoadCredential=sigv4_secret:\/etc\/xksctl\/sigv4_secret$/m);
    assert.match(t, /user_pin_file = "\$CREDENTIALS_DIRECTORY\/user_pin"/);
  });
});
