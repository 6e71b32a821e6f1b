/** `xksctl hsm status`: hardserver, Security World, modules, protection methods, keys, card sets. */
import { JSON_OPTION, defineCommand } from "./define.js";
import type { HsmStatus } from "../hsm/nfast/status.js";
import type { formatTable as FormatTable } from "../ui/output.js";

function render(s: HsmStatus, formatTable: typeof FormatTable): string {
  const out: string[] = [];
  out.push(`Hardserver   ${s.hardserver.mode}, flags ${s.hardserver.replyFlags}${s.hardserver.version ? `, version ${s.hardserver.version}` : ""}`);
  out.push(`World        ${s.world.usable && s.world.initialised ? "usable" : "NOT usable"} (state ${s.world.state})`);
  out.push(`World mode   ${s.world.mode ?? "(not shown)"}${s.world.fips ? " (FIPS)" : ""}${s.world.cardNeededForKeyGeneration ? ", key generation needs a card" : ""}`);
  for (const m of s.modules) {
    const parts = [m.mode, m.state, m.serial ? `ESN ${m.serial}` : undefined, m.version ? `firmware ${m.version}` : undefined].filter(Boolean);
    out.push(`Module #${m.index}    ${m.usable ? "usable" : "NOT usable"}: ${parts.join(", ")}`);
  }
  out.push(`Protection   ${s.protection.join(", ")}`);
  if (s.cardsets === null) out.push("Card sets    (could not be listed)");
  else out.push(`Card sets    ${s.cardsets.length === 0 ? "none" : s.cardsets.map((c) => `${c.name} (${c.k}/${c.n}, hkltu ${c.hkltu})`).join("; ")}`);
  out.push(`Keys         ${s.keys.length}`);
  if (s.keys.length > 0) {
    out.push(
      formatTable(
        ["  NAME", "APP", "PROTECTION", "IDENT"],
        s.keys.map((k) => [`  ${k.name}`, k.app, k.protection, k.ident]),
      ).trimEnd(),
    );
  }
  return `${out.join("\n")}\n`;
}

/** The `hsm status` command definition. */
export const hsmStatusCommand = defineCommand<{ json?: boolean }>({
  name: "hsm status",
  description: "show the nShield hardserver, Security World, modules, keys and card sets (exit 1 when not usable)",
  options: [JSON_OPTION],
  examples: ["xksctl hsm status", "xksctl hsm status --json | jq .world"],
  async run(opts, _args, ctx) {
    const { operatorDeps } = await import("../workflows/deps.js");
    const { readHsmStatus } = await import("../hsm/nfast/status.js");
    const { formatTable, printJson } = await import("../ui/output.js");
    const status = await readHsmStatus(operatorDeps(ctx).exec);
    if (opts.json) {
      printJson(ctx.stdout, status);
      return status.usable ? 0 : 1;
    }
    ctx.stdout.write(render(status, formatTable));
    for (const w of status.warnings) ctx.stderr.write(`warning: ${w}\n`);
    if (status.usable) ctx.stdout.write("✔ The HSM is usable for XKS keys.\n");
    for (const p of status.problems) ctx.stdout.write(`✖ ${p.message}\n→ ${p.remedy}\n`);
    return status.usable ? 0 : 1;
  },
});
