/** `xksctl keys list`: keys from nfkminfo, the PKCS#11 token and the settings, merged. */
import { CONFIG_OPTION, JSON_OPTION, defineCommand } from "./define.js";

/** The `keys list` command definition. */
export const keysListCommand = defineCommand<{ config?: string; json?: boolean }>({
  name: "keys list",
  description: "list keys with their protection, type, key stores and whether XKS can use them",
  options: [CONFIG_OPTION, JSON_OPTION],
  examples: ["xksctl keys list", "xksctl keys list --config /etc/xksctl/settings.toml --json"],
  async run(opts, _args, ctx) {
    const { defaultValidateDeps, loadSettings } = await import("../config/load.js");
    const { operatorDeps } = await import("../workflows/deps.js");
    const { listXksKeys } = await import("../workflows/list-keys.js");
    const { formatTable, printJson } = await import("../ui/output.js");
    const { settings, warnings: settingsWarnings } = loadSettings(opts.config, defaultValidateDeps(ctx.env), ctx.cwd);
    const deps = operatorDeps(ctx);
    const { rows, warnings } = await listXksKeys(deps.exec, deps.openHsm, settings);
    if (opts.json) {
      printJson(ctx.stdout, { settingsFile: settings.file, keys: rows, warnings: [...settingsWarnings, ...warnings] });
      return 0;
    }
    for (const w of [...settingsWarnings, ...warnings]) ctx.stderr.write(`warning: ${w}\n`);
    if (rows.length === 0) {
      ctx.stdout.write("No keys. Create one with `xksctl keys create <key-id> --protect module`.\n");
      return 0;
    }
    ctx.stdout.write(
      formatTable(
        ["LABEL", "PROTECTION", "ON TOKEN", "TYPE", "STORES", "XKS"],
        rows.map((r) => [
          r.label,
          r.protection ?? "-",
          r.onToken ? "yes" : "no",
          r.keySpec ?? "-",
          r.stores.length === 0 ? "-" : r.stores.map((s) => JSON.stringify(s)).join(","),
          r.usableForXks ? "yes" : `no: ${r.reason}`,
        ]),
      ),
    );
    return 0;
  },
});
