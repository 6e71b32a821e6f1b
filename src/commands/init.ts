/** `xksctl init`: sets up a key store folder (SoftHSM today), interactively or from options. */
import crypto from "node:crypto";
import { defineCommand } from "./define.js";
import { XksctlError } from "../errors.js";
import { parsePort } from "../rules.js";

interface InitOptions {
  hsm: string;
  dir: string;
  port?: string;
  pingPort?: string;
  keyId?: string;
  prefix?: string;
  region: string;
  tokenLabel: string;
  force?: boolean;
  json?: boolean;
}

export const initCommand = defineCommand<InitOptions>({
  name: "init",
  description: "create a key store folder: token, AES-256 key, TLS files, SigV4 credential, settings",
  options: [
    { flags: "--hsm <kind>", description: "softhsm (a project-local SoftHSM2 token; for nShield see docs/nshield.md)", default: "softhsm" },
    { flags: "--dir <dir>", description: "folder for the settings, token and TLS files", default: ".xksctl" },
    { flags: "-p, --port <port>", description: "XKS API port (HTTPS)" },
    { flags: "--ping-port <port>", description: "plain-HTTP /ping port" },
    { flags: "--key-id <id>", description: "external key id (the key's CKA_LABEL)" },
    { flags: "--prefix <path>", description: 'URI path prefix of the key store ("" or /a/b)' },
    { flags: "--region <region>", description: "AWS region of the KMS key store", default: "us-east-1" },
    { flags: "--token-label <label>", description: "SoftHSM token label", default: "xksctl-demo" },
    { flags: "--force", description: "start over: replace the token and settings (settings backed up)" },
    { flags: "--json", description: "print the result as JSON (includes the secret once)" },
  ],
  examples: ["xksctl init", "xksctl init --dir .xksctl --port 8443 --key-id demo-key", "xksctl init --force --prefix /bank/xks"],
  async run(opts, _args, ctx) {
    const { createExec } = await import("../platform/exec.js");
    const { exampleCurl, initSoftHsm } = await import("../workflows/init-softhsm.js");
    const { printJson } = await import("../ui/output.js");
    if (opts.hsm !== "softhsm") {
      throw new XksctlError("XKS_USAGE", `--hsm ${opts.hsm} is not automated by init`, {
        remedy: "For nShield: `xksctl keys create`, `xksctl creds generate` and `xksctl config cknfastrc` (docs/nshield.md).",
      });
    }
    const ask = ctx.prompts;
    const portText = opts.port ?? (await ask.input({ message: "Port for the XKS API (HTTPS)", flag: "--port", fallback: "8443" }));
    const keyId = opts.keyId ?? (await ask.input({ message: "External key id (AES-256 key label)", flag: "--key-id", fallback: "demo-key" }));
    const prefix = opts.prefix ?? (await ask.input({ message: 'URI path prefix ("" for none)', flag: "--prefix", fallback: "" }));
    const p = parsePort(portText, "--port");
    const r = await initSoftHsm({
      dir: opts.dir,
      port: p,
      pingPort: opts.pingPort ? parsePort(opts.pingPort, "--ping-port") : p + 1,
      keyId,
      prefix,
      region: opts.region,
      tokenLabel: opts.tokenLabel,
      force: Boolean(opts.force),
      exec: createExec(ctx.env),
      env: ctx.env,
      randomBytes: (n) => crypto.randomBytes(n),
    });
    if (opts.json) {
      printJson(ctx.stdout, r);
      return 0;
    }
    const o = ctx.stdout;
    o.write(`✔ Key store ready in ${r.dir}\n`);
    o.write(`  settings      ${r.settingsFile} (mode 0600)\n`);
    o.write(`  SoftHSM token ${r.tokenLabel} (SOFTHSM2_CONF=${r.softhsmConf})\n`);
    o.write(`  key           ${r.keyId} (AES-256, non-extractable)\n`);
    o.write(`  TLS           ${r.certFile} (self-signed, for local use only)\n`);
    o.write(`  SigV4         access key id ${r.accessKeyId}\n`);
    o.write(`                secret ${r.secretAccessKey}  (shown once; it is in the settings file)\n\n`);
    o.write(`Run the proxy:\n  SOFTHSM2_CONF=${r.softhsmConf} xksctl serve --config ${r.settingsFile}\n\n`);
    o.write(`Then encrypt through it, signed as KMS signs:\n${exampleCurl(r)}\n`);
    return 0;
  },
});
