/** `xksctl config validate`: checks a settings file and lists every problem. */
import { CONFIG_OPTION, JSON_OPTION, defineCommand } from "./define.js";

export const configValidateCommand = defineCommand<{ config?: string; json?: boolean }>({
  name: "config validate",
  description: "check a settings file (the reference proxy's TOML schema plus xksctl extensions)",
  options: [CONFIG_OPTION, JSON_OPTION],
  examples: ["xksctl config validate --config /etc/xksctl/settings.toml", "xksctl config validate --json"],
  async run(opts, _args, ctx) {
    const { checkSettingsFile, defaultValidateDeps, formatProblem, locateSettings } = await import("../config/load.js");
    const { printJson } = await import("../ui/output.js");
    const { file, source } = locateSettings(opts.config, ctx.env, ctx.cwd);
    const result = checkSettingsFile(file, defaultValidateDeps(ctx.env));
    const valid = result.problems.length === 0;
    if (opts.json) {
      printJson(ctx.stdout, { file, source, valid, problems: result.problems, warnings: result.warnings });
    } else {
      for (const w of result.warnings) ctx.stderr.write(`warning: ${w}\n`);
      if (valid) ctx.stdout.write(`✔ ${file} is valid\n`);
      else {
        ctx.stdout.write(`✖ ${file}: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}\n`);
        for (const p of result.problems) ctx.stdout.write(`  ${formatProblem(p)}\n`);
        ctx.stdout.write("→ Fix each key listed above, then run `xksctl config validate` again.\n");
      }
    }
    return valid ? 0 : 1;
  },
});
