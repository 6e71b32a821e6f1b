/** `xksctl tls install`: the CA's chain into the settings' certificate file, checked against the key first. */
import { CONFIG_OPTION, JSON_OPTION, defineCommand } from "./define.js";

export const tlsInstallCommand = defineCommand<{ config?: string; key?: string; caBundle?: string; endpoint?: string; json?: boolean }>({
  name: "tls install",
  args: "<chain>",
  description: "join the CA's certificates into the file [tls] tls_cert_pem names, after checking key, order, dates and name (refuses, exit 1, changing nothing)",
  options: [
    CONFIG_OPTION,
    { flags: "--ca-bundle <file>", description: "the CA's intermediate certificates, when they came in a file of their own" },
    { flags: "--key <key.pem>", description: "the key the CSR was made with, when it is not [tls] tls_key_pem (it is copied there)" },
    { flags: "--endpoint <dns-name>", description: "name the certificate must cover (default: the CSR's, else the installed certificate's)" },
    JSON_OPTION,
  ],
  examples: [
    "xksctl tls install chain.pem --config /etc/xksctl/settings.toml",
    "xksctl tls install server.pem --ca-bundle intermediates.pem --config /etc/xksctl/settings.toml",
    "xksctl tls install chain.pem --key /etc/xksctl/tls/xks-proxy.next.key --config /etc/xksctl/settings.toml --json",
  ],
  async run(opts, args, ctx) {
    const { locateSettings } = await import("../config/load.js");
    const { operatorDeps } = await import("../workflows/deps.js");
    const { installTlsChain } = await import("../workflows/tls-files.js");
    const { printJson } = await import("../ui/output.js");
    const { file } = locateSettings(opts.config, ctx.env, ctx.cwd);
    const r = await installTlsChain(operatorDeps(ctx).exec, {
      settingsFile: file,
      chainFiles: [args[0] ?? "", ...(opts.caBundle !== undefined ? [opts.caBundle] : [])].filter((f) => f !== ""),
      ...(opts.key !== undefined ? { keyFile: opts.key } : {}),
      ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
      cwd: ctx.cwd,
      now: new Date(ctx.now()),
    });
    if (opts.json) {
      printJson(ctx.stdout, r);
      return 0;
    }
    const o = ctx.stdout;
    o.write(`✔ Installed a chain of ${r.chain.length} certificate${r.chain.length === 1 ? "" : "s"} in ${r.certFile}${r.certBackup ? ` (previous version ${r.certBackup})` : ""}\n`);
    for (const [i, c] of r.chain.entries()) o.write(`  ${i + 1}. ${c.subject}  (until ${c.notAfter.toISOString().slice(0, 10)})\n`);
    if (r.endpoint) o.write(`  covers ${r.endpoint.name} (from the ${r.endpoint.from})\n`);
    if (r.rootFingerprint) o.write(`  top certificate SHA-256 ${r.rootFingerprint}\n`);
    if (r.keyBackup !== undefined || opts.key) o.write(`  key ${r.keyFile} replaced by ${opts.key}${r.keyBackup ? ` (previous version ${r.keyBackup})` : ""}\n`);
    for (const w of r.warnings) ctx.stderr.write(`warning: ${w}\n`);
    o.write(`Next: systemctl reload xksctl (a running proxy reads the new files on SIGHUP)\n`);
    return 0;
  },
});
