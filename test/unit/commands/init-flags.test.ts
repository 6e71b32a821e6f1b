/** `xksctl init` has one flag per answer (init/answers.ts ANSWER_KEYS), and every flag's value reaches the answers. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Option } from "commander";
import { flagAnswers, initCommand } from "../../../src/commands/init.js";
import { ANSWER_KEYS, type AnswerKey } from "../../../src/workflows/init/answers.js";

test("init: every answer key has its flag, a switch exactly when the answer is a boolean, and its value becomes the answer", () => {
  const keys = Object.keys(ANSWER_KEYS) as AnswerKey[];
  const byLong = new Map(initCommand.options.map((o) => {
    const opt = new Option(o.flags, o.description);
    return [opt.long!, opt] as const;
  }));
  assert.deepEqual([...byLong.keys()].filter((f) => !(f.slice(2) in ANSWER_KEYS)).sort(), ["--answers", "--json"]);
  const opts: Record<string, string | boolean> = {};
  const expected: Record<string, string | boolean> = {};
  for (const k of keys) {
    const opt = byLong.get(`--${k}`);
    assert.ok(opt, `--${k} is an option of init`);
    assert.equal(opt.isBoolean(), ANSWER_KEYS[k] === "boolean", `--${k}: a switch exactly when the answer is a boolean`);
    // The name commander gives the parsed value.
    opts[opt.attributeName()] = expected[k] = ANSWER_KEYS[k] === "boolean" ? true : `value of ${k}`;
  }
  assert.deepEqual(flagAnswers({ ...opts, json: true, answers: "a.json" }, keys), expected);
  assert.deepEqual(flagAnswers({}, keys), {});
});
