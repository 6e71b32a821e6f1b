/** `xksctl creds retire`: removes one SigV4 credential of a key store (the old one after a rotation). */
import { CONFIG_OPTION, JSON_OPTION, STORE_OPTION, defineCommand } from "./define.js";
import { XksctlError } from "../errors.js";

type Opts = { accessKeyId?: string; store?: string; config?: string; json?: boolean };

/** The `creds retire` command definition. */
export const credsRetireCommand = defineCommand<Opts>({
  name: "creds retire",
  description: "remove one SigV4 credential of a key store (after a rotation, the one KMS no longer signs with); the store keeps the other",
  options: [
    { flags: "--access-key-id <id>", description: "the access key id of the credential to remove" },
    STORE_OPTION,
    CONFIG_OPTION,
    JSON_OPTION,
  ],
  examples: [
    "xksctl creds retire --access-key-id AKIAOLDCREDENTIAL234 --config /etc/xksctl/settings.toml",
    "xksctl creds retire --access-key-id AKIAOLDCREDENTIAL234 --store /payments --json",
  ],
  async run(opts, _args, ctx) {
    if (!opts.accessKeyId) throw new XksctlError("XKS_USAGE", "--access-key-id is required (the credential to remove)");
    const { retireCredential } = await import("../workflows/credentials.js");
    const { locateSettings } = await import("../config/load.js");
    const { printJson } = await import("../ui/output.js");
    const { file } = locateSettings(opts.config, ctx.env, ctx.cwd);
    const r = retireCredential({ settingsFile: file, accessKeyId: opts.accessKeyId, ...(opts.store !== undefined ? { store: opts.store } : {}), env: ctx.env });
    if (opts.json) {
      printJson(ctx.stdout, r);
      return 0;
    }
    const w = (s: string) => ctx.stdout.write(`${s}\n`);
    w(`✔ Retired ${r.retired} from key store ${JSON.stringify(r.store.prefix)}; it accepts ${r.remaining.join(" and ")} (${r.settingsFile})`);
    if (r.settingsBackup) w(`  previous settings kept in ${r.settingsBackup} (mode 0600 when it holds a secret)`);
    if (r.orphanedSecretFile) w(`  ${r.orphanedSecretFile} still holds the retired secret and is no longer used: delete it`);
    w(`→ Make the running proxy drop it: ${r.reload[0]}   (or: ${r.reload[1]}); until then it still accepts ${r.retired}.`);
    return 0;
  },
});
