/** `xksctl ocs create`: createocs on the admin's terminal, preflight, and failures. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, test } from "node:test";
import { createExec } from "../../src/platform/exec.js";
import { createStandinWorld, pipedExec, runXksctl, type StandinWorld } from "../helpers/operator.js";

let world: StandinWorld | undefined;
afterEach(() => world?.cleanup());
function setup(env: NodeJS.ProcessEnv = {}) {
  world = createStandinWorld(undefined, env);
  const exec = pipedExec(createExec(world.env));
  return { w: world, exec, run: (argv: string[]) => runXksctl(["ocs", "create", ...argv], { env: world!.env, interactive: true, operator: { exec } }) };
}

describe("ocs create", () => {
  test("runs createocs with the terminal handed over (stdio inherit) after a world check", async () => {
    const { w, exec, run } = setup();
    const r = await run(["--name", "xksocs", "--quorum", "1/1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Running createocs for card set xksocs \(1\/1\); follow its prompts\. xksctl does not see or log what you type\./);
    assert.match(r.stdout, /✔ Card set xksocs \(1\/1\) created\.\nNext: xksctl config cknfastrc --protection ocs, then xksctl keys create <key-id> --protect ocs --cardset xksocs/);
    assert.deepEqual(exec.requests, [{ tool: "nfkminfo", stdio: "pipe" }, { tool: "createocs", stdio: "inherit" }]);
    assert.deepEqual(w.invocations(), [{ tool: "nfkminfo", argv: [] }, { tool: "createocs", argv: ["-m", "1", "-Q", "1/1", "-N", "xksocs"] }]);
    assert.equal(fs.readdirSync(path.join(w.home, "kmdata/local")).filter((f) => f.startsWith("cards_")).length, 1);
  });

  test("--slot, --module and --persistent reach createocs", async () => {
    const { w, run } = setup();
    const r = await run(["--name", "ocs2", "--quorum", "2/3", "--slot", "0", "--persistent"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(w.invocations()[1]!.argv, ["-m", "1", "-Q", "2/3", "-N", "ocs2", "-s", "0", "-p"]);
  });

  test("without a terminal it refuses before running anything (exit 2)", async () => {
    const w = (world = createStandinWorld());
    const r = await runXksctl(["ocs", "create", "--name", "xksocs", "--quorum", "1/1"], { env: w.env, interactive: false });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /✖ createocs asks for each card's passphrase on a terminal, and there is none\.\n→ Run `xksctl ocs create` from an interactive terminal/);
    assert.deepEqual(w.invocations(), []);
  });

  test("usage errors exit 2 and run nothing", async () => {
    const { w, run } = setup();
    const cases: [string[], RegExp][] = [
      [["--quorum", "1/1"], /--name is required/],
      [["--name", "xksocs"], /--quorum K\/N is required/],
      [["--name", "xksocs", "--quorum", "3/2"], /--quorum must be K\/N with 1 <= K <= N <= 64/],
      [["--name", "bad name", "--quorum", "1/1"], /--name must be 1-64 of/],
      [["--name", "x", "--quorum", "1/1", "--slot", "abc"], /--slot must be an integer 0-255/],
    ];
    for (const [argv, re] of cases) {
      const r = await run(argv);
      assert.equal(r.code, 2, argv.join(" "));
      assert.match(r.stderr, re);
    }
    assert.deepEqual(w.invocations(), []);
  });

  test("a world that is not usable stops it before createocs", async () => {
    const { w, run } = setup({ NFAST_STANDIN_FAIL: "world-unusable" });
    const r = await run(["--name", "xksocs", "--quorum", "1/1"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✖ The Security World is not usable/);
    assert.deepEqual(w.invocations().map((i) => i.tool), ["nfkminfo"]);
  });

  test("hardserver down: XKS_HARDSERVER_DOWN", async () => {
    const { run } = setup({ NFAST_STANDIN_FAIL: "hardserver-down" });
    const r = await run(["--name", "xksocs", "--quorum", "1/1"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✖ nfkminfo: the nShield hardserver is not running/);
  });

  test("createocs failing (no card in the slot): exit 1 naming the problem", async () => {
    const { run } = setup({ NFAST_STANDIN_CARD: "missing" });
    const r = await run(["--name", "xksocs", "--quorum", "1/1"]);
    assert.equal(r.code, 1);
    // On a terminal (inherit) xksctl sees no output and reports XKS_TOOL_FAILED; with the test's
    // pipes the output is visible and classified.
    assert.match(r.stderr, /✖ createocs: a card of the card set is missing \("createocs: no card present in slot 0"\)/);
    assert.match(r.stderr, /→ Insert a card of the right card set/);
  });

  test("createocs failing with nothing to classify: XKS_TOOL_FAILED with command and exit code", async () => {
    const w = (world = createStandinWorld());
    const inner = createExec(w.env);
    const r = await runXksctl(["ocs", "create", "--name", "xksocs", "--quorum", "1/1"], {
      env: w.env,
      interactive: true,
      operator: { exec: { run: async (req) => (req.tool === "createocs" ? { command: "/opt/nfast/bin/createocs -m 1 -Q 1/1 -N xksocs", exitCode: 4, stdout: "", stderr: "" } : inner.run(req)) } },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✖ createocs failed \(exit code 4\): \/opt\/nfast\/bin\/createocs -m 1 -Q 1\/1 -N xksocs\n  \(the tool printed nothing; its messages, if any, are above\)\n→ Read the tool's message above/);
  });
});
