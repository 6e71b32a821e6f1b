/** The exec module: lookup order, no shell, timeout, environment, and error mapping. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import { isXksctlError } from "../../../src/errors.js";
import { createExec, escapeCommand, findTool, toolFailure, toolSearchPath } from "../../../src/platform/exec.js";
import { classifyFailure, runChecked } from "../../../src/hsm/nfast/failures.js";
import { tempDir } from "../../helpers/tmp.js";

let dir: string;
const script = (rel: string, body: string) => {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
};

before(() => {
  dir = tempDir("xksctl-exec-");
  script("path/tool1", 'echo "from PATH: $*"');
  script("home/bin/tool1", "echo from NFAST_HOME");
  script("home/bin/tool2", 'echo "out line"; echo "err 1" >&2; echo "err 2" >&2; exit 3');
  script("home/bin/sleeper", "exec sleep 30");
  script("home/bin/forker", "sleep 4; echo never");
  script("home/bin/envdump", 'echo "SEEN=${XKS_TEST_SECRET:-unset} MINE=${MINE:-unset}"');
  script("home/bin/args", 'for a in "$@"; do echo "[$a]"; done');
  fs.writeFileSync(path.join(dir, "home/bin/notexec"), "#!/bin/sh\necho no\n", { mode: 0o644 });
});

const env = () => ({ PATH: `${path.join(dir, "path")}:/usr/bin:/bin`, NFAST_HOME: path.join(dir, "home") });

describe("tool lookup", () => {
  test("PATH first, then $NFAST_HOME/bin, then /opt/nfast/bin", () => {
    assert.deepEqual(toolSearchPath({ PATH: "/a:/b", NFAST_HOME: "/h" }), ["/a", "/b", "/h/bin", "/opt/nfast/bin"]);
    assert.deepEqual(toolSearchPath({ PATH: "/a" }), ["/a", "/opt/nfast/bin"]);
    assert.equal(findTool("tool1", env()), path.join(dir, "path/tool1"));
    assert.equal(findTool("tool2", env()), path.join(dir, "home/bin/tool2"));
    assert.equal(findTool("enquiry", { PATH: "/x" }, (f) => f === "/opt/nfast/bin/enquiry"), "/opt/nfast/bin/enquiry");
    assert.equal(findTool("notexec", env()), undefined);
  });

  test("a missing tool is XKS_TOOL_MISSING with the install fix", async () => {
    await assert.rejects(createExec(env()).run({ tool: "generatekey-nope", args: [], timeoutMs: 5000 }), (e: unknown) => {
      assert.ok(isXksctlError(e));
      assert.equal(e.code, "XKS_TOOL_MISSING");
      assert.match(e.message, /`generatekey-nope` was not found on PATH, in \$NFAST_HOME\/bin or in \/opt\/nfast\/bin/);
      assert.match(e.remedy, /Install the nShield Security World software, or set NFAST_HOME/);
      return true;
    });
  });
});

describe("running", () => {
  test("captures output; arguments reach the tool unchanged (no shell)", async () => {
    const r = await createExec(env()).run({ tool: "args", args: ["plainname=a b", "$HOME", "x;rm -rf /", "'q'"], timeoutMs: 5000 });
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, "[plainname=a b]\n[$HOME]\n[x;rm -rf /]\n['q']\n");
    assert.equal(r.command, `${path.join(dir, "home/bin/args")} 'plainname=a b' '$HOME' 'x;rm -rf /' ''\\''q'\\'''`);
  });

  test("only the environment passed in reaches the tool", async () => {
    process.env.XKS_TEST_SECRET = "leaked";
    try {
      const r = await createExec({ ...env(), MINE: "yes" }).run({ tool: "envdump", args: [], timeoutMs: 5000 });
      assert.equal(r.stdout.trim(), "SEEN=unset MINE=yes");
    } finally {
      delete process.env.XKS_TEST_SECRET;
    }
  });

  test("a non-zero exit is returned; toolFailure names the command, exit code and last stderr lines", async () => {
    const r = await createExec(env()).run({ tool: "tool2", args: ["x"], timeoutMs: 5000 });
    assert.equal(r.exitCode, 3);
    const e = toolFailure(r, "tool2");
    assert.equal(e.code, "XKS_TOOL_FAILED");
    assert.match(e.message, /tool2 failed \(exit code 3\): .*home\/bin\/tool2 x$/);
    assert.deepEqual(e.details, ["err 1", "err 2"]);
    await assert.rejects(runChecked(createExec(env()), { tool: "tool2", args: [], timeoutMs: 5000 }), /tool2 failed \(exit code 3\)/);
  });

  test("a tool that does not finish is stopped: XKS_TOOL_TIMEOUT", async () => {
    const t0 = Date.now();
    await assert.rejects(createExec(env(), { killGraceMs: 200 }).run({ tool: "sleeper", args: [], timeoutMs: 300 }), (e: unknown) => {
      assert.ok(isXksctlError(e));
      assert.equal(e.code, "XKS_TOOL_TIMEOUT");
      assert.match(e.message, /sleeper did not finish within 300 ms and was stopped/);
      return true;
    });
    assert.ok(Date.now() - t0 < 5000);
  });

  test("a grandchild holding the pipes open does not keep the run alive after a timeout", async () => {
    const t0 = Date.now();
    await assert.rejects(createExec(env(), { killGraceMs: 100 }).run({ tool: "forker", args: [], timeoutMs: 200 }), /forker did not finish within 200 ms/);
    assert.ok(Date.now() - t0 < 3000);
  });

  test("tee shows the output on the terminal and captures it; inherit only shows it", () => {
    // In a child process, so the tool's output reaches a real stdout and not the test reporter.
    const code = `
      import { createExec } from ${JSON.stringify(path.join(process.cwd(), "src/platform/exec.ts"))};
      const exec = createExec({ PATH: process.env.TOOLS, NFAST_HOME: "/nonexistent" });
      const tee = await exec.run({ tool: "args", args: ["shown-and-captured"], timeoutMs: 5000, stdio: "tee" });
      const inh = await exec.run({ tool: "args", args: ["shown-only"], timeoutMs: 5000, stdio: "inherit" });
      process.stdout.write("RESULT " + JSON.stringify([tee.stdout, inh.stdout, inh.exitCode]) + "\\n");`;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      env: { ...process.env, TOOLS: `${path.join(dir, "home/bin")}:/usr/bin:/bin` },
      encoding: "utf8",
    });
    assert.equal(out, '[shown-and-captured]\n[shown-only]\nRESULT ["[shown-and-captured]\\n","",0]\n');
  });

  test("escapeCommand leaves plain words alone", () => {
    assert.equal(escapeCommand("/opt/nfast/bin/generatekey", ["--batch", "pkcs11", "plainname=xks-key-1"]), "/opt/nfast/bin/generatekey --batch pkcs11 plainname=xks-key-1");
  });
});

describe("failure classification", () => {
  const result = (stdout: string, stderr = "") => ({ command: "/opt/nfast/bin/generatekey --batch pkcs11", exitCode: 1, stdout, stderr });
  const cases: [string, string, string][] = [
    // [V] nshield-tools.md §2.5
    ["ERROR: recovery: invalid option", "XKS_TOOL_BAD_PARAMETER", "the value of parameter `recovery` was rejected"],
    // the remaining strings are SYNTHETIC (the facts file found none; see src/hsm/nfast/failures.ts)
    ["generatekey: NFastApp_Connect failed: ServerNotRunning", "XKS_HARDSERVER_DOWN", "hardserver is not running"],
    ["generatekey: Security World not usable", "XKS_WORLD_UNUSABLE", "Security World is not usable"],
    ["generatekey: no usable modules (module #1 PreInitMode)", "XKS_MODULE_UNUSABLE", "no usable HSM module"],
    ["Please insert an Administrator Card or Operator Card to authorise this operation", "XKS_CARD_PROBLEM", "FIPS 140 Level 3"],
    ["generatekey: wrong passphrase for card `xksocs' #1", "XKS_CARD_PROBLEM", "passphrase was not accepted"],
    ["generatekey: no card present in slot 0", "XKS_CARD_PROBLEM", "card of the card set is missing"],
    ["generatekey: cardset `nosuch' not found", "XKS_CARD_PROBLEM", "card set named does not exist"],
  ];
  for (const [line, code, text] of cases) {
    test(`${code}: ${line}`, () => {
      for (const r of [result(line), result("", line)]) {
        const e = classifyFailure("generatekey", r);
        assert.ok(e, "classified");
        assert.equal(e.code, code);
        assert.ok(e.message.includes(text), e.message);
        assert.ok(e.message.includes(JSON.stringify(line)), "quotes the line");
        assert.ok(e.details.includes("exit code: 1"));
      }
    });
  }
  test("the hardserver wins over later symptoms; unknown text is not classified", () => {
    assert.equal(classifyFailure("x", result("Security World not usable", "ServerNotRunning"))?.code, "XKS_HARDSERVER_DOWN");
    assert.equal(classifyFailure("x", result("something odd happened")), undefined);
  });
});
