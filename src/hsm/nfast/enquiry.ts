/**
 * `enquiry`: hardserver and module liveness (nshield-tools.md §7). A healthy block has
 * `enquiry reply flags  none` and `mode  operational`.
 */
import type { Exec } from "../../platform/exec.js";
import { runChecked } from "./failures.js";
import { isEllipsis, outputLines, splitField, unexpectedOutput } from "./output.js";

const TOOL = "enquiry";
const TIMEOUT_MS = 30_000;

/** Field names seen in enquiry output ([V] S1/S2, [V2] S25); used when only one space follows a name. */
const KNOWN_KEYS = [
  "enquiry reply flags", "enquiry reply level", "serial number", "mode", "version", "speed index", "rec. queue",
  "level one flags", "version string", "checked in", "level two flags", "max. write size", "level three flags",
  "level four flags", "module type code", "product name", "device name", "EnquirySix version", "impath kx groups",
  "feature ctrl flags", "features enabled", "version serial", "remote server port", "remote port (IPv4)",
  "kneti hash", "max exported modules", "active modes", "rec. LongJobs queue", "SEE machine type",
  "supported KML types", "hardware status",
];

/** One block (Server or Module #N). */
export interface EnquiryBlock {
  /** "operational", "initialization", "maintenance", "uninitialized" (§7). */
  mode: string;
  /** "none" when healthy; "Offline" / "Failed" when not. */
  replyFlags: string;
  version?: string;
  serial?: string;
  hardwareStatus?: string;
  fields: Record<string, string>;
}

/** Parsed `enquiry` output. */
export interface EnquiryReport {
  server: EnquiryBlock;
  modules: (EnquiryBlock & { index: number; usable: boolean })[];
}

/** Is a module block healthy: operational, no Offline/Failed flag, hardware OK when reported? */
export function moduleBlockUsable(b: EnquiryBlock): boolean {
  const flagsOk = !/offline|failed/i.test(b.replyFlags);
  const hwOk = b.hardwareStatus === undefined || b.hardwareStatus === "OK";
  return b.mode === "operational" && flagsOk && hwOk;
}

/** Why the hardserver (enquiry's Server block) cannot serve: not operational, or reply flags other than none; null when it can. */
export function hardserverProblem(server: EnquiryBlock): string | null {
  return server.mode === "operational" && /^none$/i.test(server.replyFlags) ? null : `the hardserver reports mode ${server.mode}, flags ${server.replyFlags}`;
}

/** Why enquiry reports a module unusable (moduleBlockUsable), or null. */
export function enquiryModuleProblem(m: EnquiryReport["modules"][number]): string | null {
  return m.usable ? null : `Module #${m.index}: enquiry reports mode ${m.mode}, flags ${m.replyFlags}${m.hardwareStatus ? `, hardware ${m.hardwareStatus}` : ""}`;
}

/** Parses enquiry's output; throws XKS_TOOL_OUTPUT on unknown headers or a block without mode. */
export function parseEnquiry(text: string): EnquiryReport {
  const blocks: { header: string; index?: number; fields: Record<string, string> }[] = [];
  for (const line of outputLines(text)) {
    if (line.trim() === "" || isEllipsis(line)) continue;
    if (!/^\s/.test(line)) {
      const m = /^Module #(\d+):$/.exec(line);
      if (line === "Server:") blocks.push({ header: line, fields: {} });
      else if (m) blocks.push({ header: line, index: Number(m[1]), fields: {} });
      else throw unexpectedOutput(TOOL, line, "an unknown section header");
      continue;
    }
    const f = splitField(line, KNOWN_KEYS);
    const cur = blocks.at(-1);
    if (!f || !cur) throw unexpectedOutput(TOOL, line, "a field line outside a Server or Module block");
    cur.fields[f.key] = f.value;
  }
  const toBlock = (b: (typeof blocks)[number]): EnquiryBlock => {
    const mode = b.fields.mode;
    const replyFlags = b.fields["enquiry reply flags"];
    if (mode === undefined) throw unexpectedOutput(TOOL, b.header, "a block without a `mode` line");
    if (replyFlags === undefined) throw unexpectedOutput(TOOL, b.header, "a block without an `enquiry reply flags` line");
    return {
      mode,
      replyFlags,
      fields: b.fields,
      ...(b.fields.version !== undefined ? { version: b.fields.version } : {}),
      ...(b.fields["serial number"] !== undefined ? { serial: b.fields["serial number"] } : {}),
      ...(b.fields["hardware status"] !== undefined ? { hardwareStatus: b.fields["hardware status"] } : {}),
    };
  };
  const server = blocks.find((b) => b.header === "Server:");
  if (!server) throw unexpectedOutput(TOOL, outputLines(text).find((l) => l.trim() !== ""), "no `Server:` block");
  const modules = blocks
    .filter((b) => b.index !== undefined)
    .map((b) => {
      const block = toBlock(b);
      return { ...block, index: b.index!, usable: moduleBlockUsable(block) };
    });
  return { server: toBlock(server), modules };
}

/** Runs `enquiry` and parses it. */
export async function readEnquiry(exec: Exec): Promise<EnquiryReport> {
  const r = await runChecked(exec, { tool: TOOL, args: [], timeoutMs: TIMEOUT_MS });
  return parseEnquiry(r.stdout);
}
