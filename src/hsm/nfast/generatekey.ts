/**
 * `generatekey --batch pkcs11 ...`: makes the AES-256 key an XKS key id names. plainname becomes
 * CKA_LABEL (nshield-tools.md §0 item 6); the argv follows §2.3, the output rule §2.4.
 */
import path from "node:path";
import type { Exec, StdioMode } from "../../platform/exec.js";
import { runChecked } from "./failures.js";
import { outputLines, splitField, unexpectedOutput } from "./output.js";

const TOOL = "generatekey";

/** What to generate. */
export interface GenerateKeyParams {
  /** The XKS key id; becomes plainname and so CKA_LABEL. */
  plainname: string;
  /** "module" or "token" (= OCS). */
  protect: "module" | "token";
  /** OCS name (protect=token). */
  cardset?: string;
  /** Slot to read cards from (protect=token). @default 0 */
  slot?: number;
}

/** The parsed success output. */
export interface GeneratedKey {
  /** Key file path as printed after `Path to key:`. */
  keyFile: string;
  /** The key's ident: file name minus `key_pkcs11_`. */
  ident: string;
  /** The `key generation parameters:` table (name → value), when printed. */
  parameters: Record<string, string>;
}

/** Builds generatekey's argv: parameter form only (`cardset=` is verified, `--cardset` is not). */
export function generateKeyArgs(p: GenerateKeyParams): string[] {
  const args = ["--batch", "pkcs11", `protect=${p.protect}`];
  if (p.protect === "token") {
    if (!p.cardset) throw new Error("generateKeyArgs: protect=token needs a cardset");
    args.push(`cardset=${p.cardset}`, `slot=${p.slot ?? 0}`);
  }
  args.push("type=AES", "size=256", `plainname=${p.plainname}`, "recovery=yes", "nvram=no");
  return args;
}

const PATH_RE = /^Path to key: (.+)$/;
const FILE_RE = /^key_pkcs11_([0-9a-z][0-9a-z-]*)$/;

/** Reads generatekey's output: success needs `Key successfully generated.` and `Path to key:`. */
export function parseGenerateKeyOutput(text: string): GeneratedKey {
  const lines = outputLines(text);
  const parameters: Record<string, string> = {};
  const head = lines.findIndex((l) => l === "key generation parameters:");
  if (head >= 0) {
    for (const l of lines.slice(head + 1)) {
      if (!/^\s/.test(l)) break;
      // ` name  Description with spaces  value`: the value is the last column.
      const cols = l.trim().split(/ {2,}/);
      const f = splitField(l);
      if (cols.length >= 2 && f) parameters[f.key] = cols.at(-1)!;
    }
  }
  if (!lines.includes("Key successfully generated.")) {
    throw unexpectedOutput(TOOL, lines.filter((l) => l.trim() !== "").at(-1), "exit 0 without `Key successfully generated.`");
  }
  const pathLine = lines.find((l) => l.startsWith("Path to key:"));
  const m = pathLine ? PATH_RE.exec(pathLine) : null;
  if (!pathLine || !m) throw unexpectedOutput(TOOL, pathLine, "no `Path to key: <file>` line");
  const keyFile = m[1]!.trim();
  const f = FILE_RE.exec(path.basename(keyFile));
  if (!f) throw unexpectedOutput(TOOL, pathLine, "a key file not named key_pkcs11_<ident>");
  return { keyFile, ident: f[1]!, parameters };
}

/** Runs generatekey; "tee" lets card and passphrase prompts reach a terminal while output is read. */
export async function generateKey(
  exec: Exec,
  p: GenerateKeyParams,
  opts: { stdio: StdioMode; timeoutMs: number },
): Promise<GeneratedKey> {
  const r = await runChecked(exec, { tool: TOOL, args: generateKeyArgs(p), timeoutMs: opts.timeoutMs, stdio: opts.stdio });
  const key = parseGenerateKeyOutput(r.stdout);
  const printed = key.parameters.plainname;
  if (printed !== undefined && printed !== p.plainname) {
    throw unexpectedOutput(TOOL, ` plainname    Key name    ${printed}`, `a key name other than the ${JSON.stringify(p.plainname)} asked for`);
  }
  return key;
}
