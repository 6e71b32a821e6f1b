/** `xksctl aws`: prints the AWS CLI commands and key policy for the XKS key store. */
import { CONFIG_OPTION, JSON_OPTION, STORE_OPTION, defineCommand } from "./define.js";
import { XksctlError } from "../errors.js";

type Opts = {
  endpoint?: string;
  keyAdminArn?: string;
  keyUserArn?: string;
  region?: string;
  store?: string;
  keyStoreName?: string;
  vpcEndpointService?: string;
  keyId?: string[];
  secretFile?: string;
  config?: string;
  json?: boolean;
};

/** The `aws` command definition. */
export const awsCommand = defineCommand<Opts>({
  name: "aws",
  description: "print the AWS CLI commands (create/connect the external key store, create KMS keys) and a key policy",
  options: [
    { flags: "--endpoint <url>", description: "https://<DNS name> where KMS reaches the proxy (port 443, no port or path)" },
    { flags: "--key-admin-arn <arn>", description: "IAM user or role ARN that administers the KMS keys" },
    { flags: "--key-user-arn <arn>", description: "IAM user or role ARN allowed to encrypt/decrypt (optional)" },
    { flags: "--region <region>", description: "AWS region of the KMS keys (default: [server].region)" },
    STORE_OPTION,
    { flags: "--key-store-name <name>", description: "custom key store name (default: xksctl plus the prefix)" },
    { flags: "--vpc-endpoint-service <name>", description: "use VPC_ENDPOINT_SERVICE connectivity with this service name" },
    { flags: "--key-id <ids...>", description: "external key ids to create KMS keys for (default: the store's xks_key_id_set)" },
    { flags: "--secret-file <file>", description: "a 0600 file with the SigV4 secret (alone, or the KMS console / AWS CLI credential file of creds generate/rotate) that the script reads when XKS_SECRET is unset" },
    CONFIG_OPTION,
    JSON_OPTION,
  ],
  examples: [
    "xksctl aws --endpoint https://xks.example.com --key-admin-arn arn:aws:iam::111122223333:role/KeyAdmin > xks-aws.sh",
    "XKS_SECRET=... sh xks-aws.sh",
    "xksctl aws --endpoint https://xks.example.com --key-admin-arn arn:aws:iam::111122223333:role/KeyAdmin --secret-file /etc/xksctl/kms-proxy-config.json > xks-aws.sh",
    "xksctl aws --endpoint https://xks.example.com:8443 --key-admin-arn arn:aws:iam::111122223333:user/alice --key-id xks-key-1 --json",
  ],
  async run(opts, _args, ctx) {
    const { awsStepsScript, renderAwsSteps } = await import("../workflows/aws-steps.js");
    const { locateSettings } = await import("../config/load.js");
    const { printJson } = await import("../ui/output.js");
    const path = await import("node:path");
    if (!opts.endpoint) throw new XksctlError("XKS_USAGE", "--endpoint https://<DNS name> is required");
    if (!opts.keyAdminArn) throw new XksctlError("XKS_USAGE", "--key-admin-arn is required (it goes into the key policy)");
    const { file } = locateSettings(opts.config, ctx.env, ctx.cwd);
    const steps = renderAwsSteps({
      settingsFile: file,
      endpoint: opts.endpoint,
      keyAdminArn: opts.keyAdminArn,
      ...(opts.keyUserArn ? { keyUserArn: opts.keyUserArn } : {}),
      ...(opts.region ? { region: opts.region } : {}),
      ...(opts.store !== undefined ? { store: opts.store } : {}),
      ...(opts.keyStoreName ? { keyStoreName: opts.keyStoreName } : {}),
      ...(opts.vpcEndpointService ? { vpcEndpointService: opts.vpcEndpointService } : {}),
      ...(opts.keyId ? { keyIds: opts.keyId } : {}),
      ...(opts.secretFile ? { secretFile: path.resolve(ctx.cwd, opts.secretFile) } : {}),
    });
    if (opts.json) {
      printJson(ctx.stdout, steps);
      return 0;
    }
    for (const w of steps.warnings) ctx.stderr.write(`warning: ${w}\n`);
    ctx.stdout.write(awsStepsScript(steps));
    return 0;
  },
});
