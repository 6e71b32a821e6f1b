/** `xksctl doctor`: every check an admin makes by hand, each failure with its fix; exit 1 when one fails. */
import { CONFIG_OPTION, JSON_OPTION, defineCommand } from "./define.js";
import type { DoctorFlags } from "../workflows/doctor/options.js";

/** The `doctor` command definition. */
export const doctorCommand = defineCommand<DoctorFlags & { json?: boolean }>({
  name: "doctor",
  description: "check the nShield HSM, PKCS#11, settings, TLS, endpoint, network and the live proxy as KMS calls it; a fix for every problem (exit 1 when a check fails)",
  options: [
    CONFIG_OPTION,
    { flags: "--group <groups...>", description: "run only these groups (and what they need): settings nshield pkcs11 tls endpoint network live" },
    { flags: "--endpoint <url>", description: "the key store's XksProxyUriEndpoint, https://<name> (default: the one init recorded, else derived from [server])" },
    { flags: "--service-user <name>", description: "the account the proxy runs as, owner of the secret files (default: User= of xksctl.service, else you)" },
    { flags: "--url <url>", description: "run the live checks against any XKS proxy at https://host[:port][/prefix], without local settings" },
    { flags: "--access-key-id <id>", description: "with --url: the key store's SigV4 access key id" },
    { flags: "--secret-file <file>", description: "with --url: a file holding the key store's SigV4 secret access key" },
    { flags: "--region <region>", description: "with --url: the region KMS signs with (default us-east-1)" },
    { flags: "--key-id <ids...>", description: "with --url: external key ids for GetKeyMetadata and Encrypt/Decrypt" },
    { flags: "--ca-file <file>", description: "with --url: also trust this CA certificate (PEM), e.g. a test proxy's self-signed one" },
    JSON_OPTION,
  ],
  examples: [
    "xksctl doctor",
    "xksctl doctor --config /etc/xksctl/settings.toml --endpoint https://xks.example.com",
    "xksctl doctor --group pkcs11 tls",
    "xksctl doctor --json | jq '.checks[] | select(.status == \"fail\")'",
    "xksctl doctor --url https://xks.example.com/bank/xks --access-key-id AKIA4EXAMPLEEXAMPLE23 --secret-file secret.txt --key-id key-1",
  ],
  async run(opts, _args, ctx) {
    const { doctorOptions } = await import("../workflows/doctor/options.js");
    const { DOCTOR_CHECKS, runDoctor } = await import("../workflows/doctor/index.js");
    const { doctorDeps } = await import("../workflows/doctor/deps.js");
    const { doctorJson, doctorRenderer, useColour } = await import("../ui/doctor-report.js");
    const { printJson } = await import("../ui/output.js");
    const options = doctorOptions(opts, ctx.cwd);
    const render = doctorRenderer({ colour: useColour(ctx.env, ctx.interactive), idWidth: Math.max(...DOCTOR_CHECKS.map((c) => c.id.length)) });
    const report = await runDoctor(doctorDeps(ctx), options, opts.json ? {} : { onResult: (r) => ctx.stdout.write(render.line(r)) });
    if (opts.json) printJson(ctx.stdout, doctorJson(report));
    else ctx.stdout.write(render.summary(report));
    return report.exitCode;
  },
});
