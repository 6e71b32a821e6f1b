/** `xksctl tls csr`: a new TLS private key (0600) and a CSR for the endpoint, for a public CA. */
import { CONFIG_OPTION, JSON_OPTION, defineCommand } from "./define.js";

export const tlsCsrCommand = defineCommand<{ config?: string; endpoint?: string; json?: boolean }>({
  name: "tls csr",
  description: "make a new TLS private key (0600) and a certificate request (CN and SAN = the endpoint's DNS name) for a public CA",
  options: [CONFIG_OPTION, { flags: "--endpoint <dns-name>", description: "DNS name KMS connects to (default: the installed certificate's, else the last CSR's)" }, JSON_OPTION],
  examples: ["xksctl tls csr --config /etc/xksctl/settings.toml", "xksctl tls csr --config /etc/xksctl/settings.toml --endpoint xks.example.com --json"],
  async run(opts, _args, ctx) {
    const { locateSettings } = await import("../config/load.js");
    const { operatorDeps } = await import("../workflows/deps.js");
    const { createTlsCsr } = await import("../workflows/tls-files.js");
    const { printJson } = await import("../ui/output.js");
    const { file } = locateSettings(opts.config, ctx.env, ctx.cwd);
    const r = await createTlsCsr(operatorDeps(ctx).exec, { settingsFile: file, ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}), cwd: ctx.cwd, now: new Date(ctx.now()) });
    if (opts.json) {
      printJson(ctx.stdout, r);
      return 0;
    }
    const o = ctx.stdout;
    o.write(`✔ New private key ${r.keyFile} (mode 0600) and CSR ${r.csrFile} for ${r.endpoint}\n`);
    if (r.keyBackup) o.write(`  the previous key is kept as ${r.keyBackup}\n`);
    if (r.staged) o.write(`  the installed certificate keeps working with the current key until the new chain is installed\n`);
    o.write(`Next: send ${r.csrFile} to a public CA (AWS KMS trusts public roots only); with the chain it returns:\n  ${r.installCommand}\n`);
    return 0;
  },
});
