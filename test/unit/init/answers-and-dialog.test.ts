/** init's answers (flags and --answers JSON) and its question rules, without a machine. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import type { Prompts } from "../../../src/context.js";
import { XksctlError, isXksctlError } from "../../../src/errors.js";
import { nonInteractivePrompts } from "../../../src/ui/dialogs.js";
import { mergeAnswers, readAnswersFile } from "../../../src/workflows/init/answers.js";
import { askChoice, askText, askYesNo, type Dialog } from "../../../src/workflows/init/ask.js";
import { tempDir } from "../../helpers/tmp.js";

const code = (c: string, exit: number) => (e: unknown) => isXksctlError(e) && e.code === c && e.exitCode === exit;

describe("answers", () => {
  test("the file's keys are the flags' names; numbers become text; the command line wins", () => {
    const f = path.join(tempDir("xksctl-answers-"), "a.json");
    fs.writeFileSync(f, JSON.stringify({ "--protection": "ocs", cardset: "xksocs", port: 443, yes: true }));
    const file = readAnswersFile(f, "/");
    assert.deepEqual(file, { protection: "ocs", cardset: "xksocs", port: "443", yes: true });
    assert.deepEqual(mergeAnswers(file, { port: "8443" }), { protection: "ocs", cardset: "xksocs", port: "8443", yes: true });
    fs.rmSync(path.dirname(f), { recursive: true });
  });
  test("bad values and combinations are usage errors (exit 2) before anything runs", () => {
    assert.throws(() => mergeAnswers({}, { port: "70000" }), code("XKS_USAGE", 2));
    assert.throws(() => mergeAnswers({}, { protection: "token" }), /--protection must be one of module, ocs/);
    assert.throws(() => mergeAnswers({}, { prefix: "/a/" }), /does not give a valid XksProxyUriPath/);
    assert.throws(() => mergeAnswers({}, { region: "mars-1" }), /--region must be an AWS region/);
    assert.throws(() => mergeAnswers({}, { "tls-cert": "/x.pem" }), /--tls-cert and --tls-key go together/);
    assert.throws(() => mergeAnswers({}, { protection: "module", "create-ocs": "x" }), /--create-ocs makes an Operator Card Set: it needs --protection ocs/);
    const f = path.join(tempDir("xksctl-answers-"), "a.json");
    fs.writeFileSync(f, JSON.stringify({ yes: "yes" }));
    assert.throws(() => readAnswersFile(f, "/"), (e: unknown) => code("XKS_USAGE", 2)(e) && /--yes is a switch: give true or false/.test(String(e)));
    fs.rmSync(path.dirname(f), { recursive: true });
    assert.throws(() => mergeAnswers({}, { "key-id": ".." }), code("XKS_KEY_INVALID_ID", 1));
  });
});

/** Prompts that answer from a script and record what was asked. */
function scripted(replies: unknown[]): Prompts & { asked: string[] } {
  const asked: string[] = [];
  const next = async (q: { message: string; validate?: (v: string) => true | string }) => {
    asked.push(q.message);
    let r = replies.shift();
    // A typed answer the question refuses is asked again (the next reply), as @inquirer does.
    while (typeof r === "string" && q.validate && q.validate(r) !== true) {
      asked.push(`again: ${q.validate(r)}`);
      r = replies.shift();
    }
    return r as never;
  };
  return { asked, input: next, password: next, confirm: next, select: next };
}

describe("one question", () => {
  const parse = (v: string) => {
    if (!/^\d+$/.test(v)) throw new XksctlError("XKS_USAGE", `not a number: ${v}`);
    return Number(v);
  };
  const d = (o: Partial<Dialog>): Dialog => ({ answers: {}, interactive: false, yes: false, prompts: nonInteractivePrompts, ...o });

  test("an answer is used without asking; a terminal asks (again after a refused value); --yes takes the default", async () => {
    const p = scripted(["x", "7"]);
    assert.equal(await askText(d({ answers: { port: "5" }, interactive: true, prompts: p }), "port", { message: "Port", default: "1", parse }), 5);
    assert.equal(await askText(d({ interactive: true, prompts: p }), "port", { message: "Port", default: "1", parse }), 7);
    assert.deepEqual(p.asked, ["Port", "again: not a number: x"]);
    assert.equal(await askText(d({ yes: true }), "port", { message: "Port", default: "1", parse }), 1);
  });
  test("no terminal, no answer: XKS_PROMPT_NEEDED (exit 2) naming the flag, and --yes when there is a default", async () => {
    await assert.rejects(askText(d({}), "port", { message: "Port", default: "1", parse }), (e: unknown) => code("XKS_PROMPT_NEEDED", 2)(e) && /Pass --port VALUE .*or --yes to take the default/.test((e as { remedy: string }).remedy));
    await assert.rejects(askText(d({ yes: true }), "endpoint", { message: "Name", parse: String }), (e: unknown) => code("XKS_PROMPT_NEEDED", 2)(e) && !/--yes/.test((e as { remedy: string }).remedy));
    await assert.rejects(askChoice(d({}), "protection", { message: "How?", choices: [{ value: "module" }], default: "module" }), code("XKS_PROMPT_NEEDED", 2));
    await assert.rejects(askChoice(d({ answers: { protection: "ocs" } }), "protection", { message: "How?", choices: [{ value: "module" }] }), code("XKS_USAGE", 2));
  });
  test("switches: absent means the default without a terminal; the confirmation needs --yes", async () => {
    assert.equal(await askYesNo(d({}), "install-service", { message: "Install?", default: false }), false);
    await assert.rejects(askYesNo(d({}), "yes", { message: "Go?", default: true, required: true }), (e: unknown) => code("XKS_PROMPT_NEEDED", 2)(e) && /Pass --yes \(/.test((e as { remedy: string }).remedy));
    assert.equal(await askYesNo(d({ yes: true }), "yes", { message: "Go?", default: false, required: true }), true);
    assert.equal(await askYesNo(d({ interactive: true, prompts: scripted([false]) }), "yes", { message: "Go?", default: true, required: true }), false);
  });
});
