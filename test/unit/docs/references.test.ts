/**
 * Every command, flag and document that a remedy, a help text, the README or a doc names exists.
 * Mentions are `xksctl …` inside backticks or code blocks (and every example of every command),
 * and `docs/….md` paths anywhere in those texts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { COMMANDS, GROUPS } from "../../../src/commands/index.js";
import type { CommandDef } from "../../../src/commands/define.js";
import { ERROR_CATALOGUE } from "../../../src/errors.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const defs = COMMANDS as readonly CommandDef<Record<string, unknown>>[];
const GLOBAL_FLAGS = new Set(["--help", "-h", "--version", "-V", "--debug"]);

function walk(dir: string, ext: RegExp): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    return e.isDirectory() ? walk(rel, ext) : ext.test(e.name) ? [rel] : [];
  });
}

/** Texts to check, each with where it comes from. */
function texts(): { where: string; text: string }[] {
  const out: { where: string; text: string }[] = [];
  for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) out.push({ where: `remedy of ${code}`, text: spec.remedy });
  for (const d of defs) {
    out.push({ where: `help of ${d.name}`, text: [d.description, ...d.options.map((o) => o.description)].join("\n") });
    for (const e of d.examples) out.push({ where: `example of ${d.name}`, text: `\`${e.replace(/^[A-Z_]+=\S+ /, "")}\`` });
  }
  for (const f of ["README.md", ...walk("docs", /\.md$/), ...walk("templates", /./)]) out.push({ where: f, text: fs.readFileSync(path.join(ROOT, f), "utf8") });
  // In source, messages name commands as `xksctl …` inside a string: "…`xksctl x`…" or `…\`xksctl x\`…`.
  for (const f of [...walk("src", /\.ts$/), ...walk("scripts", /\.(sh|ts|mjs)$/)]) {
    const src = fs.readFileSync(path.join(ROOT, f), "utf8");
    const quoted = [...src.matchAll(/\\`(xksctl [^`\\]+)\\`/g), ...[...src.matchAll(/"([^"\n]*)"/g)].flatMap((m) => [...m[1]!.matchAll(/`(xksctl [^`]+)`/g)])];
    out.push({ where: f, text: quoted.map((m) => `\`${m[1]}\``).join("\n") });
    out.push({ where: f, text: [...src.matchAll(/docs\/[\w./-]+?\.md/g)].map((m) => m[0]).join("\n") });
  }
  return out;
}

/** `xksctl …` command lines in backticks and fenced code. */
function mentions(text: string): string[] {
  // A command line in a code block: xksctl first, after `$ `, `sudo` or VAR=value words.
  const blocks = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split("\n")).map((l) => /^(?:\$ )?(?:sudo )?(?:[A-Z_]+=\S* )*xksctl( .*)?$/.exec(l.trim())?.[1] ?? null);
  // Inline code that starts with xksctl.
  const inline = [...text.replace(/```[\s\S]*?```/g, "").matchAll(/`xksctl( [^`\n]*)?`/g)].map((m) => m[1] ?? "");
  // One mention ends at a shell separator, a comment, a comma or the next "xksctl".
  return [...blocks, ...inline].filter((s): s is string => s !== null).flatMap((s) => s.split(/(?<=^|\s)xksctl(?=\s|$)/)).map((s) => s.split(/[|;&#,)]/)[0]!.trim());
}

/** Problems with one mention, e.g. "keys create x --protect module". */
function check(line: string): string | null {
  const words = line.split(/\s+/).filter(Boolean);
  if (words.length === 0 || words[0]!.startsWith("-")) {
    return words.every((w) => !w.startsWith("-") || GLOBAL_FLAGS.has(w)) ? null : `unknown global flag in "xksctl ${line}"`;
  }
  if (/^[<$[{]/.test(words[0]!) || words[0] === "|") return null; // a placeholder such as <verb>
  let def: CommandDef<Record<string, unknown>> | undefined;
  let used = 0;
  for (const d of defs) {
    const n = d.name.split(" ");
    if (n.every((w, i) => words[i] === w) && n.length > used) {
      def = d;
      used = n.length;
    }
  }
  if (!def) {
    if (GROUPS[words[0]!] !== undefined && (words.length === 1 || /^[<$]|^--help$/.test(words[1]!) || words[1] === "|")) return null;
    return `no command "xksctl ${words.slice(0, 2).join(" ")}"`;
  }
  const flags = new Set(def.options.flatMap((o) => o.flags.split(/[ ,]+/).filter((f) => f.startsWith("-"))));
  for (const w of words.slice(used)) {
    if (!w.startsWith("-")) continue;
    const flag = w.replace(/=.*$/, "");
    if (!flags.has(flag) && !GLOBAL_FLAGS.has(flag)) return `"xksctl ${def.name}" has no option ${flag}`;
  }
  return null;
}

test("every `xksctl …` that a remedy, help text, README, doc or source names exists, with its flags", () => {
  const problems: string[] = [];
  for (const { where, text } of texts()) for (const m of mentions(text)) {
    const p = check(m);
    if (p) problems.push(`${where}: ${p}`);
  }
  assert.deepEqual(problems, []);
});

test("every docs/….md that they name exists", () => {
  const problems: string[] = [];
  for (const { where, text } of texts()) {
    for (const m of text.matchAll(/\bdocs\/[\w./-]+?\.md\b/g)) if (!fs.existsSync(path.join(ROOT, m[0]))) problems.push(`${where}: ${m[0]}`);
  }
  assert.deepEqual(problems, []);
});

test("the checker itself catches a missing command, a wrong flag and a missing document", () => {
  assert.equal(check("keys list --json"), null);
  assert.match(check("doctorx --group tls") ?? "", /no command "xksctl doctorx --group"/);
  assert.match(check("keys create k --protection module") ?? "", /has no option --protection/);
  assert.deepEqual(mentions("run `xksctl keys list` or\n```sh\nxksctl hsm status --json\n```"), ["hsm status --json", "keys list"]);
});
