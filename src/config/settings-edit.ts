/**
 * Changes single keys of a TOML settings file in place, keeping every comment, blank line and
 * the layout of everything else. A small scanner finds table headers and `key = value` spans
 * (strings, multi-line strings and arrays included); edits replace or insert exactly those
 * spans. The result is re-parsed with @iarna/toml and must equal the old document with the
 * intended changes applied, or nothing is returned.
 */
import { isDeepStrictEqual } from "node:util";
import TOML from "@iarna/toml";
import { XksctlError } from "../errors.js";

/** A table in the file: `{ table: "pkcs11" }`, or the Nth `[[external_key_stores]]` entry. */
export interface TableRef {
  /** Dotted table name; "" is the root (before any header). */
  table: string;
  /** For an array of tables: which entry (0-based). */
  index?: number;
}

/** A scalar value xksctl writes. */
export type ScalarValue = string | number | boolean;

/** A flat table of scalars, written as an inline table (`{ a = "x", b = 1 }`). */
export type InlineTable = Readonly<Record<string, ScalarValue>>;

/** A value xksctl writes: a scalar, an array of strings, or an array of inline tables. */
export type EditValue = ScalarValue | string[] | InlineTable[];

/**
 * One change. `append` adds a string to an array of strings unless it is already there; `delete`
 * removes a key (its `key = value` line, or the `[[table.key]]` sub-tables of that table entry)
 * and does nothing when the key is absent.
 */
export type SettingsEdit =
  | { op: "set"; at: TableRef; key: string; value: EditValue }
  | { op: "append"; at: TableRef; key: string; value: string }
  | { op: "delete"; at: TableRef; key: string };

interface Header {
  name: string;
  array: boolean;
  /** Offset of the line start and of the end of the header line (after its newline). */
  start: number;
  lineEnd: number;
}

interface KeyValue {
  /** Dotted key as written (quotes removed). */
  key: string;
  lineStart: number;
  valueStart: number;
  valueEnd: number;
  /** End of the line the value ends on (after its newline, or text length). */
  lineEnd: number;
  /** For arrays: offset of the last character that is not whitespace or comment before `]`. */
  lastSignificant?: number;
  /** For arrays: whether any element was seen. */
  hasElements?: boolean;
}

interface Section {
  header?: Header;
  entries: KeyValue[];
  /** Where this section's text ends (the next header's start, or text length). */
  end: number;
}

function parseError(text: string, pos: number, why: string): XksctlError {
  const line = text.slice(0, pos).split("\n").length;
  return new XksctlError("XKS_CONFIG_PARSE", `Cannot edit the settings: line ${line}: ${why}.`);
}

function lineEndAt(text: string, pos: number): number {
  const nl = text.indexOf("\n", pos);
  return nl < 0 ? text.length : nl + 1;
}

/** Reads one key part (bare or quoted) at `pos`; returns the name and the position after it. */
function readKeyPart(text: string, pos: number): [string, number] {
  const c = text[pos];
  if (c === '"') {
    let i = pos + 1;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    return [JSON.parse(text.slice(pos, i + 1)) as string, i + 1];
  }
  if (c === "'") {
    const end = text.indexOf("'", pos + 1);
    return [text.slice(pos + 1, end), end + 1];
  }
  const m = /^[A-Za-z0-9_-]+/.exec(text.slice(pos, pos + 256));
  if (!m) throw parseError(text, pos, "expected a key");
  return [m[0], pos + m[0].length];
}

/** Reads a dotted key; returns the dotted name and the position after it. */
function readKey(text: string, pos: number): [string, number] {
  const parts: string[] = [];
  let i = pos;
  for (;;) {
    const [part, next] = readKeyPart(text, i);
    parts.push(part);
    i = next;
    const m = /^[ \t]*\.[ \t]*/.exec(text.slice(i, i + 64));
    if (!m) break;
    i += m[0].length;
  }
  return [parts.join("."), i];
}

/** Skips a string starting at `pos`; returns the position after it. */
function skipString(text: string, pos: number): number {
  const triple = text.startsWith('"""', pos) ? '"""' : text.startsWith("'''", pos) ? "'''" : undefined;
  if (triple) {
    let i = pos + 3;
    for (;;) {
      if (i >= text.length) throw parseError(text, pos, "unterminated multi-line string");
      if (triple === '"""' && text[i] === "\\") {
        i += 2;
        continue;
      }
      if (text.startsWith(triple, i)) {
        i += 3;
        while (text[i] === triple[0] && i < text.length) i++; // up to two quotes may end the content
        return i;
      }
      i++;
    }
  }
  const q = text[pos];
  let i = pos + 1;
  while (i < text.length && text[i] !== q) {
    if (text[i] === "\n") throw parseError(text, pos, "unterminated string");
    i += q === '"' && text[i] === "\\" ? 2 : 1;
  }
  return i + 1;
}

/** Scans a value at `pos`; returns its end and, for arrays, the last significant character. */
function scanValue(text: string, pos: number): { end: number; lastSignificant?: number; hasElements?: boolean } {
  const c = text[pos];
  if (c === '"' || c === "'") return { end: skipString(text, pos) };
  if (c === "[" || c === "{") {
    let depth = 0;
    let i = pos;
    let lastSig = pos;
    let hasElements = false;
    while (i < text.length) {
      const ch = text[i]!;
      if (ch === "#") {
        i = lineEndAt(text, i) - 1;
      } else if (ch === '"' || ch === "'") {
        i = skipString(text, i) - 1;
        lastSig = i;
        hasElements = true;
      } else if (ch === "[" || ch === "{") {
        if (depth > 0) hasElements = true;
        depth++;
        lastSig = i;
      } else if (ch === "]" || ch === "}") {
        depth--;
        if (depth === 0) return { end: i + 1, lastSignificant: lastSig, hasElements };
        lastSig = i;
      } else if (!/\s/.test(ch)) {
        lastSig = i;
        if (ch !== ",") hasElements = true;
      }
      i++;
    }
    throw parseError(text, pos, "unterminated array or inline table");
  }
  const m = /^[^#\r\n]*/.exec(text.slice(pos));
  const raw = m ? m[0].replace(/[ \t]+$/, "") : "";
  if (raw === "") throw parseError(text, pos, "expected a value");
  return { end: pos + raw.length };
}

/** Splits a TOML document into sections of headers and key/value spans. */
function scan(text: string): Section[] {
  const sections: Section[] = [{ entries: [], end: text.length }];
  let pos = 0;
  while (pos < text.length) {
    const lineStart = pos;
    const m = /^[ \t]*/.exec(text.slice(pos, pos + 256))!;
    pos += m[0].length;
    const c = text[pos];
    if (c === undefined || c === "\n" || c === "\r" || c === "#") {
      pos = lineEndAt(text, pos);
      continue;
    }
    if (c === "[") {
      const array = text[pos + 1] === "[";
      let i = pos + (array ? 2 : 1);
      i += /^[ \t]*/.exec(text.slice(i, i + 64))![0].length;
      const [name, after] = readKey(text, i);
      const close = /^[ \t]*\]/.exec(text.slice(after, after + 64));
      if (!close || (array && text[after + close[0].length] !== "]")) throw parseError(text, pos, "malformed table header");
      const end = lineEndAt(text, pos);
      sections.at(-1)!.end = lineStart;
      sections.push({ header: { name, array, start: lineStart, lineEnd: end }, entries: [], end: text.length });
      pos = end;
      continue;
    }
    const [key, afterKey] = readKey(text, pos);
    const eq = /^[ \t]*=[ \t]*/.exec(text.slice(afterKey, afterKey + 64));
    if (!eq) throw parseError(text, pos, `expected \`=\` after ${key}`);
    const valueStart = afterKey + eq[0].length;
    const v = scanValue(text, valueStart);
    const lineEnd = lineEndAt(text, v.end);
    sections.at(-1)!.entries.push({
      key,
      lineStart,
      valueStart,
      valueEnd: v.end,
      lineEnd,
      ...(v.lastSignificant !== undefined ? { lastSignificant: v.lastSignificant, hasElements: v.hasElements } : {}),
    });
    pos = lineEnd;
  }
  return sections;
}

function findSection(sections: Section[], at: TableRef): Section | undefined {
  if (at.table === "") return sections[0];
  if (at.index === undefined) return sections.find((s) => s.header && !s.header.array && s.header.name === at.table);
  return sections.filter((s) => s.header?.array && s.header.name === at.table)[at.index];
}

/** Renders a value as TOML (basic strings, integers, booleans, one-line arrays of strings, arrays of inline tables one per line). */
export function renderTomlValue(value: EditValue): string {
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((v) => typeof v === "object" && v !== null)) {
      const rows = (value as InlineTable[]).map((t) => `  { ${Object.entries(t).map(([k, v]) => `${renderKey(k)} = ${renderTomlValue(v)}`).join(", ")} },\n`);
      return `[\n${rows.join("")}]`;
    }
    return `[${(value as ScalarValue[]).map((v) => renderTomlValue(v)).join(", ")}]`;
  }
  if (typeof value === "string") return JSON.stringify(value).replace(/\u007f/g, "\\u007f");
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new Error("renderTomlValue: only integers are written");
    return String(value);
  }
  return value ? "true" : "false";
}

function renderKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

function describeRef(at: TableRef): string {
  return at.index === undefined ? `[${at.table}]` : `[[${at.table}]] #${at.index + 1}`;
}

function indentOf(text: string, lineStart: number): string {
  return /^[ \t]*/.exec(text.slice(lineStart, lineStart + 64))![0];
}

/** Where the `[[<table>.<key>]]` sub-tables of one table entry are, each without trailing comments. */
function subTableSpans(sections: Section[], section: Section, at: TableRef, key: string): [number, number][] {
  const name = `${at.table}.${key}`;
  const spans: [number, number][] = [];
  for (let i = sections.indexOf(section) + 1; i < sections.length; i++) {
    const h = sections[i]!.header!;
    if (h.name !== name && !h.name.startsWith(`${at.table}.`)) break; // the next entry or another table
    if (h.name === name && h.array) spans.push([h.start, sections[i]!.entries.at(-1)?.lineEnd ?? h.lineEnd]);
  }
  return spans;
}

/** Applies one edit to the text (no verification; see applySettingsEdits). */
function applyOne(text: string, edit: SettingsEdit): string {
  const sections = scan(text);
  const section = findSection(sections, edit.at);
  if (edit.op === "delete") {
    if (!section) return text;
    const kv = section.entries.find((e) => e.key === edit.key);
    if (kv) return text.slice(0, kv.lineStart) + text.slice(kv.lineEnd);
    let out = text;
    for (const [from, to] of subTableSpans(sections, section, edit.at, edit.key).reverse()) out = out.slice(0, from) + out.slice(to);
    return out;
  }
  if (!section) {
    if (edit.at.index !== undefined || edit.op === "append") {
      throw new XksctlError("XKS_CONFIG_INVALID", `The settings file has no ${describeRef(edit.at)} table to change.`);
    }
    const sep = text === "" || text.endsWith("\n\n") ? "" : text.endsWith("\n") ? "\n" : "\n\n";
    return `${text}${sep}[${edit.at.table}]\n${renderKey(edit.key)} = ${renderTomlValue(edit.value)}\n`;
  }
  const kv = section.entries.find((e) => e.key === edit.key);
  if (edit.op === "set") {
    const rendered = renderTomlValue(edit.value);
    if (kv) return text.slice(0, kv.valueStart) + rendered + text.slice(kv.valueEnd);
    const last = section.entries.at(-1);
    const at = last ? last.lineEnd : section.header ? section.header.lineEnd : 0;
    const indent = last ? indentOf(text, last.lineStart) : "";
    const nl = at > 0 && text[at - 1] !== "\n" ? "\n" : "";
    return `${text.slice(0, at)}${nl}${indent}${renderKey(edit.key)} = ${rendered}\n${text.slice(at)}`;
  }
  if (!kv || text[kv.valueStart] !== "[" || kv.lastSignificant === undefined) {
    throw new XksctlError("XKS_CONFIG_INVALID", `${describeRef(edit.at)} ${edit.key} is not an array in the settings file.`);
  }
  const item = renderTomlValue(edit.value);
  const close = kv.valueEnd - 1;
  const closeLineStart = text.lastIndexOf("\n", close - 1) + 1;
  const closeOnOwnLine = text.slice(closeLineStart, close).trim() === "" && closeLineStart > kv.valueStart;
  if (!kv.hasElements) {
    if (!closeOnOwnLine) return text.slice(0, kv.valueStart) + `[${item}]` + text.slice(kv.valueEnd);
    const indent = `${indentOf(text, kv.lineStart)}  `;
    return `${text.slice(0, closeLineStart)}${indent}${item},\n${text.slice(closeLineStart)}`;
  }
  const sig = kv.lastSignificant;
  const needsComma = text[sig] !== ",";
  if (closeOnOwnLine) {
    const sigLineStart = text.lastIndexOf("\n", sig) + 1;
    const indent = indentOf(text, sigLineStart);
    const withComma = needsComma ? `${text.slice(0, sig + 1)},${text.slice(sig + 1)}` : text;
    const shift = needsComma ? 1 : 0;
    return `${withComma.slice(0, closeLineStart + shift)}${indent}${item},\n${withComma.slice(closeLineStart + shift)}`;
  }
  const insert = needsComma ? `, ${item}` : ` ${item}`;
  return text.slice(0, sig + 1) + insert + text.slice(sig + 1);
}

/** The expected parsed document: the old one with the edit applied by plain object code. */
function applyToObject(doc: Record<string, unknown>, edit: SettingsEdit): void {
  let table: Record<string, unknown> = doc;
  if (edit.at.table !== "") {
    let cur: unknown = doc;
    const parts = edit.at.table.split(".");
    parts.forEach((p, i) => {
      const o = cur as Record<string, unknown>;
      if (o[p] === undefined && edit.at.index === undefined) o[p] = {};
      cur = o[p];
      if (i === parts.length - 1 && edit.at.index !== undefined) cur = (cur as unknown[])[edit.at.index];
    });
    table = cur as Record<string, unknown>;
  }
  if (edit.op === "set") table[edit.key] = Array.isArray(edit.value) ? edit.value.map((v) => (typeof v === "object" ? { ...v } : v)) : edit.value;
  else if (edit.op === "delete") delete table[edit.key];
  else {
    const arr = table[edit.key] as unknown[];
    if (!arr.includes(edit.value)) arr.push(edit.value);
  }
}

/** A comparable copy of a parsed document (dates as strings, big integers as text). */
function plain(doc: unknown): unknown {
  return JSON.parse(JSON.stringify(doc, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)));
}

/**
 * Applies edits keeping comments and layout, then re-parses: the result must equal the old
 * document with exactly these changes, else XKS_CONFIG_INVALID (the file is not written).
 */
export function applySettingsEdits(text: string, edits: readonly SettingsEdit[], file = "settings"): string {
  let expected: Record<string, unknown>;
  try {
    expected = TOML.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new XksctlError("XKS_CONFIG_PARSE", `${file}: ${String((err as Error).message).split("\n")[0]}`);
  }
  let out = text;
  for (const edit of edits) {
    if (edit.op === "delete" && !findSection(scan(out), edit.at)) continue; // no such table: nothing to delete
    if (edit.op === "append") {
      const kv = findSection(scan(out), edit.at)?.entries.find((e) => e.key === edit.key);
      const current = kv ? (TOML.parse(`v = ${out.slice(kv.valueStart, kv.valueEnd)}`) as { v: unknown }).v : undefined;
      if (Array.isArray(current) && current.includes(edit.value)) continue; // already listed: nothing to do
    }
    out = applyOne(out, edit);
    applyToObject(expected, edit);
  }
  let reparsed: unknown;
  try {
    reparsed = TOML.parse(out);
  } catch (err) {
    throw new XksctlError("XKS_CONFIG_INVALID", `${file}: the edited settings no longer parse (${String((err as Error).message).split("\n")[0]}); the file was not changed.`);
  }
  if (!isDeepStrictEqual(plain(reparsed), plain(expected))) {
    throw new XksctlError("XKS_CONFIG_INVALID", `${file}: editing the settings in place would change more than intended; the file was not changed.`, {
      remedy: "Make the change by hand (the layout of this file is unusual), then run `xksctl config validate`.",
    });
  }
  return out;
}
