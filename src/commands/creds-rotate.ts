/** `xksctl creds rotate`: a new SigV4 credential next to the current one, shown once, for KMS to switch to. */
import { CONFIG_OPTION, JSON_OPTION, STORE_OPTION, defineCommand } from "./define.js";

type Opts = { store?: string; consoleJson?: string; credentialJson?: string; keyStoreId?: string; config?: string; json?: boolean };

/** The `creds rotate` command definition. */
export const credsRotateCommand = defineCommand<Opts>({
  name: "creds rotate",
  description: "add a new SigV4 credential next to the current one (both accepted), show it once, and print the AWS command that gives it to KMS",
  options: [
    STORE_OPTION,
    { flags: "--console-json <file>", description: "the KMS console's proxy configuration file (mode 0600; default kms-proxy-config.json next to the settings)" },
    { flags: "--credential-json <file>", description: "the AWS CLI credential file the printed command reads (mode 0600; default kms-xks-credential.json next to the settings)" },
    { flags: "--key-store-id <id>", description: "the custom key store id (cks-...) to put in the printed command (default: $XKS_STORE_ID)" },
    CONFIG_OPTION,
    JSON_OPTION,
  ],
  examples: [
    "xksctl creds rotate --config /etc/xksctl/settings.toml",
    "xksctl creds rotate --store /payments --key-store-id cks-1234567890abcdef0",
    "xksctl creds rotate --config /etc/xksctl/settings.toml --json",
  ],
  async run(opts, _args, ctx) {
    const { rotateCredentials } = await import("../workflows/credentials.js");
    const { locateSettings } = await import("../config/load.js");
    const { operatorDeps } = await import("../workflows/deps.js");
    const { printJson } = await import("../ui/output.js");
    const { file } = locateSettings(opts.config, ctx.env, ctx.cwd);
    const r = rotateCredentials({
      settingsFile: file,
      ...(opts.store !== undefined ? { store: opts.store } : {}),
      ...(opts.consoleJson ? { consoleJson: opts.consoleJson } : {}),
      ...(opts.credentialJson ? { credentialJson: opts.credentialJson } : {}),
      ...(opts.keyStoreId ? { keyStoreId: opts.keyStoreId } : {}),
      cwd: ctx.cwd,
      env: ctx.env,
      randomBytes: operatorDeps(ctx).randomBytes,
    });
    if (opts.json) {
      printJson(ctx.stdout, r);
      return 0;
    }
    const w = (s: string) => ctx.stdout.write(`${s}\n`);
    w(`✔ Key store ${JSON.stringify(r.store.prefix)} now has a second credential ${r.accessKeyId} next to ${r.currentAccessKeyId} (sigv4_additional_credentials in ${r.settingsFile}${r.secretFile ? `; secret in ${r.secretFile}` : ""}, mode 0600)`);
    if (r.settingsBackup) w(`  previous settings kept in ${r.settingsBackup}`);
    w(`  KMS console proxy configuration file: ${r.consoleJson} (mode 0600)`);
    w(`  AWS CLI credential file:              ${r.credentialJson} (mode 0600)`);
    w("");
    w(`  XksProxyUriPath      ${r.uriPath}`);
    w(`  AccessKeyId          ${r.accessKeyId}`);
    w(`  RawSecretAccessKey   ${r.secretAccessKey}`);
    w("");
    w("This secret is shown only once. Next:");
    w(`  1. Make the running proxy accept both credentials: ${r.reload[0]}   (or: ${r.reload[1]})`);
    w("  2. Give KMS the new credential (KMS checks it against the proxy first):");
    w(r.updateCommand.replace(/^/gm, "       "));
    w("     or upload the console file in the KMS console (Edit the external key store).");
    w(`  3. When the proxy's log shows requests signed with ${r.accessKeyId} only, retire the old one and reload again:`);
    w(`       xksctl creds retire --access-key-id ${r.currentAccessKeyId} --config ${r.settingsFile}${r.store.prefix !== "" ? ` --store ${r.store.prefix}` : ""}`);
    w(`  Delete ${r.consoleJson} and ${r.credentialJson} once KMS has the credential.`);
    return 0;
  },
});
