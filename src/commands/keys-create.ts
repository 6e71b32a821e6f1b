/** `xksctl keys create`: an AES-256 key in the nShield Security World, listed in a key store. */
import { CONFIG_OPTION, JSON_OPTION, STORE_OPTION, defineCommand } from "./define.js";
import { XksctlError } from "../errors.js";

type Opts = { protect?: string; cardset?: string; slot?: string; store?: string; config?: string; json?: boolean };

/** The `keys create` command definition. */
export const keysCreateCommand = defineCommand<Opts>({
  name: "keys create",
  args: "<key-id>",
  description: "generate an AES-256 key (generatekey pkcs11, CKA_LABEL = key id) and add it to a key store",
  options: [
    { flags: "--protect <method>", description: "module or ocs" },
    { flags: "--cardset <name>", description: "Operator Card Set protecting the key (with --protect ocs)" },
    { flags: "--slot <slot>", description: "card reader slot for the OCS card (with --protect ocs)", default: "0" },
    STORE_OPTION,
    CONFIG_OPTION,
    JSON_OPTION,
  ],
  examples: [
    "xksctl keys create xks-key-1 --protect module",
    "xksctl keys create payments-2024 --protect ocs --cardset xksocs --store /payments",
    "xksctl keys create xks-key-2 --protect module --config /etc/xksctl/settings.toml --json",
  ],
  async run(opts, args, ctx) {
    const { locateSettings } = await import("../config/load.js");
    const { operatorDeps } = await import("../workflows/deps.js");
    const { createXksKey } = await import("../workflows/create-key.js");
    const { printJson } = await import("../ui/output.js");
    const { parseSmallInt } = await import("../ui/option-values.js");
    const keyId = args[0] ?? "";
    if (!opts.protect) throw new XksctlError("XKS_USAGE", "--protect module|ocs is required");
    const protect = opts.protect as "module" | "ocs";
    const { file } = locateSettings(opts.config, ctx.env, ctx.cwd);
    const r = await createXksKey(operatorDeps(ctx).exec, {
      keyId,
      protect,
      ...(opts.cardset ? { cardset: opts.cardset } : {}),
      ...(protect === "ocs" ? { slot: parseSmallInt(opts.slot ?? "0", "--slot", 0, 255) } : {}),
      ...(opts.store !== undefined ? { store: opts.store } : {}),
      settingsFile: file,
      interactive: ctx.interactive && !opts.json,
      env: ctx.env,
    });
    if (opts.json) {
      printJson(ctx.stdout, r);
      return 0;
    }
    for (const w of r.warnings) ctx.stderr.write(`warning: ${w}\n`);
    ctx.stdout.write(`✔ Created AES-256 key ${JSON.stringify(r.keyId)} (${r.protection === "ocs" ? `OCS ${r.cardset}` : "module"} protection)\n`);
    ctx.stdout.write(`  key file   ${r.keyFile}\n`);
    ctx.stdout.write(`  key store  ${JSON.stringify(r.store.prefix)} in ${r.settingsFile}${r.backup ? ` (previous version: ${r.backup})` : ""}\n`);
    ctx.stdout.write(`→ ${r.pickup.how}\n`);
    ctx.stdout.write(`Next: xksctl keys test ${r.keyId}\n`);
    return 0;
  },
});
