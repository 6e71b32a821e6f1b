/** `xksctl creds generate`: a new SigV4 credential for a key store, shown once. */
import { CONFIG_OPTION, JSON_OPTION, STORE_OPTION, defineCommand } from "./define.js";

/** The `creds generate` command definition. */
export const credsGenerateCommand = defineCommand<{ store?: string; consoleJson?: string; config?: string; json?: boolean }>({
  name: "creds generate",
  description: "generate a SigV4 access key id and secret for a key store, write them to the settings and show them once",
  options: [
    STORE_OPTION,
    { flags: "--console-json <file>", description: "also write the proxy configuration file the KMS console accepts (mode 0600)" },
    CONFIG_OPTION,
    JSON_OPTION,
  ],
  examples: [
    "xksctl creds generate",
    "xksctl creds generate --store /payments --console-json ~/xks-proxy-config.json",
    "xksctl creds generate --config /etc/xksctl/settings.toml --json",
  ],
  async run(opts, _args, ctx) {
    const { generateCredentials } = await import("../workflows/credentials.js");
    const { locateSettings } = await import("../config/load.js");
    const { operatorDeps } = await import("../workflows/deps.js");
    const { printJson } = await import("../ui/output.js");
    const { file } = locateSettings(opts.config, ctx.env, ctx.cwd);
    const r = generateCredentials({
      settingsFile: file,
      ...(opts.store !== undefined ? { store: opts.store } : {}),
      ...(opts.consoleJson ? { consoleJson: opts.consoleJson } : {}),
      cwd: ctx.cwd,
      env: ctx.env,
      randomBytes: operatorDeps(ctx).randomBytes,
    });
    if (opts.json) {
      printJson(ctx.stdout, r);
      return 0;
    }
    ctx.stdout.write(`✔ New SigV4 credential for key store ${JSON.stringify(r.store.prefix)} written to ${r.secretFile ? `${r.settingsFile} (the id) and ${r.secretFile} (the secret, mode 0600)` : `${r.settingsFile} (mode 0600)`}\n`);
    if (r.settingsBackup) ctx.stdout.write(`  previous settings kept in ${r.settingsBackup} (mode 0600 when it holds a secret)\n`);
    if (r.consoleJson) ctx.stdout.write(`  KMS console proxy configuration file: ${r.consoleJson} (mode 0600; delete it after the upload)\n`);
    ctx.stdout.write(`\n  XksProxyUriPath      ${r.uriPath}\n  AccessKeyId          ${r.accessKeyId}\n  RawSecretAccessKey   ${r.secretAccessKey}\n\n`);
    ctx.stdout.write("This secret is shown only once. Enter it in KMS now (console, or `xksctl aws`, which reads it from XKS_SECRET or a 0600 file).\n");
    ctx.stdout.write("→ Restart or send SIGHUP to a running `xksctl serve` to use it; until KMS has it (UpdateCustomKeyStore), KMS requests will fail.\n");
    return 0;
  },
});
