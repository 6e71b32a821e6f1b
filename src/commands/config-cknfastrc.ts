/** `xksctl config cknfastrc`: sets the nShield PKCS#11 variables a protection method needs. */
import path from "node:path";
import { JSON_OPTION, defineCommand } from "./define.js";
import { XksctlError } from "../errors.js";

/** The `config cknfastrc` command definition. */
export const configCknfastrcCommand = defineCommand<{ protection?: string; file?: string; dryRun?: boolean; json?: boolean }>({
  name: "config cknfastrc",
  description: "set CKNFAST_FAKE_ACCELERATOR_LOGIN=1 (module) or CKNFAST_NO_ACCELERATOR_SLOTS=1 (ocs) in cknfastrc, keeping everything else",
  options: [
    { flags: "--protection <method>", description: "module or ocs" },
    { flags: "--file <path>", description: "the cknfastrc to change (default: $NFAST_HOME/cknfastrc, /opt/nfast/cknfastrc)" },
    { flags: "--dry-run", description: "show the change as a diff and write nothing" },
    JSON_OPTION,
  ],
  examples: [
    "xksctl config cknfastrc --protection module --dry-run",
    "sudo xksctl config cknfastrc --protection ocs",
    "xksctl config cknfastrc --protection module --file ./cknfastrc --json",
  ],
  async run(opts, _args, ctx) {
    const { defaultCknfastrcPath } = await import("../config/cknfastrc.js");
    const { updateCknfastrc } = await import("../workflows/cknfastrc.js");
    const { printJson } = await import("../ui/output.js");
    if (opts.protection !== "module" && opts.protection !== "ocs") {
      throw new XksctlError("XKS_USAGE", `--protection must be module or ocs, got ${JSON.stringify(opts.protection ?? null)}`);
    }
    const file = opts.file ? path.resolve(ctx.cwd, opts.file) : defaultCknfastrcPath(ctx.env);
    const r = updateCknfastrc(file, opts.protection, { dryRun: Boolean(opts.dryRun), env: ctx.env });
    if (opts.json) {
      printJson(ctx.stdout, r);
      return 0;
    }
    for (const w of r.envOverrides) ctx.stderr.write(`warning: ${w}\n`);
    if (r.changes.length === 0) {
      ctx.stdout.write(`✔ ${r.file} already has the settings for ${r.protection} protection; nothing to change.\n`);
      return 0;
    }
    if (opts.dryRun) {
      ctx.stdout.write(r.diff);
      ctx.stdout.write(`(dry run: ${r.file} was not changed)\n`);
      return 0;
    }
    ctx.stdout.write(`✔ Updated ${r.file}: ${r.changes.map((c) => `${c.name}=${c.to}`).join(", ")}${r.backup ? ` (previous version: ${r.backup})` : ""}\n`);
    ctx.stdout.write("→ Restart programs using the nShield PKCS#11 library (xksctl serve) for the change to take effect.\n");
    return 0;
  },
});
