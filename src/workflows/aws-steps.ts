/**
 * `aws`: the AWS side of the integration guide as exact AWS CLI commands, built from the
 * settings (store prefix, access key id, region, key ids) and the admin's options: create and
 * connect the external key store, a key policy naming the key administrator, and one
 * `create-key --origin EXTERNAL_KEY_STORE --xks-key-id` per key. The SigV4 secret is never
 * printed: the commands read it from $XKS_SECRET.
 */
import { XksctlError } from "../errors.js";
import { shellQuote } from "../platform/exec.js";
import { ACCESS_KEY_ID_RE, isValidUriPrefix, uriPathOf } from "../rules.js";
import { readSettingsDocument } from "../config/load.js";
import { selectStore } from "../config/stores.js";

/** The admin's choices. */
export interface AwsStepsInput {
  settingsFile: string;
  store?: string;
  /** `https://host[:port]` KMS uses to reach the proxy. */
  endpoint: string;
  /** IAM principal ARN that administers the KMS keys. */
  keyAdminArn: string;
  /** IAM principal ARN allowed to use the keys (optional). */
  keyUserArn?: string;
  /** @default [server].region of the settings */
  region?: string;
  /** @default "xksctl" + prefix with "/" as "-" */
  keyStoreName?: string;
  /** VPC endpoint service name: VPC_ENDPOINT_SERVICE connectivity instead of PUBLIC_ENDPOINT. */
  vpcEndpointService?: string;
  /** @default every id in the store's xks_key_id_set */
  keyIds?: string[];
}

/** One step of the script. */
export interface AwsStep {
  title: string;
  /** Shell text (one or more lines) to run. */
  shell: string;
}

/** The rendered steps. */
export interface AwsSteps {
  region: string;
  keyStoreName: string;
  uriPath: string;
  endpoint: string;
  accessKeyId: string;
  keyIds: string[];
  keyPolicy: Record<string, unknown>;
  steps: AwsStep[];
  warnings: string[];
}

const ARN_RE = /^arn:(aws[a-z-]*):iam::(\d{12}):(root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+)$/;

/** Parses an IAM principal ARN; throws XKS_USAGE. */
export function parsePrincipalArn(arn: string, flag: string): { partition: string; account: string } {
  const m = ARN_RE.exec(arn);
  if (!m) throw new XksctlError("XKS_USAGE", `${flag} must be an IAM user, role or root ARN like arn:aws:iam::111122223333:role/KeyAdmin, got ${JSON.stringify(arn)}`);
  return { partition: m[1]!, account: m[2]! };
}

/** Checks the endpoint is `https://host[:port]` with nothing after; returns it without a slash. */
export function normaliseEndpoint(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new XksctlError("XKS_USAGE", `--endpoint must be a URL like https://xks.example.com, got ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== "https:" || u.username || u.password || (u.pathname !== "/" && u.pathname !== "") || u.search || u.hash) {
    throw new XksctlError("XKS_USAGE", `--endpoint must be https://host[:port] with no path (the path comes from the store prefix), got ${JSON.stringify(raw)}`);
  }
  return `https://${u.host}`;
}

/** The key policy: the account root (so IAM policies apply), the key administrator, optionally a user. */
export function keyPolicy(adminArn: string, userArn?: string): Record<string, unknown> {
  const { partition, account } = parsePrincipalArn(adminArn, "--key-admin-arn");
  const statements: Record<string, unknown>[] = [
    {
      Sid: "EnableIAMPolicies",
      Effect: "Allow",
      Principal: { AWS: `arn:${partition}:iam::${account}:root` },
      Action: "kms:*",
      Resource: "*",
    },
    {
      Sid: "AllowKeyAdministration",
      Effect: "Allow",
      Principal: { AWS: adminArn },
      Action: [
        "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
        "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
        "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
      ],
      Resource: "*",
    },
  ];
  if (userArn) {
    parsePrincipalArn(userArn, "--key-user-arn");
    statements.push({
      Sid: "AllowKeyUse",
      Effect: "Allow",
      Principal: { AWS: userArn },
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      Resource: "*",
    });
  }
  return { Version: "2012-10-17", Id: "xksctl-xks-key-policy", Statement: statements };
}

/** Joins a command as continued shell lines. */
function cmd(words: string[][]): string {
  return words.map((w) => w.join(" ")).join(" \\\n  ");
}

/** Renders the AWS steps from the settings and the admin's options. */
export function renderAwsSteps(input: AwsStepsInput): AwsSteps {
  const settings = readSettingsDocument(input.settingsFile);
  const store = selectStore(settings.doc, input.store, settings.file);
  const warnings: string[] = [];
  const endpoint = normaliseEndpoint(input.endpoint);
  const policy = keyPolicy(input.keyAdminArn, input.keyUserArn);
  const server = (settings.doc.server ?? {}) as Record<string, unknown>;
  const region = input.region ?? (typeof server.region === "string" ? server.region : undefined);
  if (!region || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new XksctlError("XKS_USAGE", `Pass --region (the AWS region of the KMS keys); the settings give ${JSON.stringify(region ?? null)}.`);
  }
  if (server.region !== undefined && server.region !== region) {
    warnings.push(`[server].region is ${JSON.stringify(server.region)} but the steps use ${region}: the proxy accepts SigV4 from its configured region only`);
  }
  const uriPath = uriPathOf(store.prefix);
  if (!isValidUriPrefix(store.prefix)) throw new XksctlError("XKS_CONFIG_INVALID", `uri_path_prefix ${JSON.stringify(store.prefix)} does not give a valid XksProxyUriPath.`);
  const akid = store.raw.sigv4_access_key_id;
  if (typeof akid !== "string" || !ACCESS_KEY_ID_RE.test(akid) || akid === "BETWEEN2TENAND3TENCHARACTERS") {
    throw new XksctlError("XKS_CONFIG_INVALID", `Key store ${JSON.stringify(store.prefix)} has no usable sigv4_access_key_id.`, {
      remedy: "Run `xksctl creds generate` first; it prints the secret the AWS steps need.",
    });
  }
  const security = (settings.doc.security ?? {}) as Record<string, unknown>;
  if (security.is_tls_enabled !== true) {
    warnings.push("[security].is_tls_enabled is false: KMS only connects over HTTPS with a publicly trusted certificate, so TLS must end in front of the proxy");
  }
  const keyIds = input.keyIds && input.keyIds.length > 0 ? input.keyIds : store.keyIds;
  for (const k of keyIds) if (!store.keyIds.includes(k)) warnings.push(`key id ${JSON.stringify(k)} is not in this store's xks_key_id_set: KMS will fail to create it`);
  if (keyIds.length === 0) warnings.push("the store lists no key ids: run `xksctl keys create` first, then run this again for the create-key commands");
  const name = input.keyStoreName ?? `xksctl${store.prefix === "" ? "" : store.prefix.replace(/\//g, "-")}`;
  const r = ["--region", shellQuote(region)];
  const credential = `"{\\"AccessKeyId\\":\\"${akid}\\",\\"RawSecretAccessKey\\":\\"$XKS_SECRET\\"}"`;
  const connectivity = input.vpcEndpointService
    ? [["--xks-proxy-connectivity", "VPC_ENDPOINT_SERVICE"], ["--xks-proxy-vpc-endpoint-service-name", shellQuote(input.vpcEndpointService)]]
    : [["--xks-proxy-connectivity", "PUBLIC_ENDPOINT"]];
  const steps: AwsStep[] = [
    {
      title: "Create the external key store (set XKS_SECRET to the secret `xksctl creds generate` showed; it is not printed here)",
      shell: [
        `: "\${XKS_SECRET:?set XKS_SECRET to the SigV4 secret of access key ${akid}}"`,
        `XKS_STORE_ID=$(${cmd([
          ["aws", "kms", "create-custom-key-store"],
          r,
          ["--custom-key-store-name", shellQuote(name)],
          ["--custom-key-store-type", "EXTERNAL_KEY_STORE"],
          ...connectivity,
          ["--xks-proxy-uri-endpoint", shellQuote(endpoint)],
          ["--xks-proxy-uri-path", shellQuote(uriPath)],
          ["--xks-proxy-authentication-credential", credential],
          ["--query", "CustomKeyStoreId", "--output", "text"],
        ])})`,
        `echo "$XKS_STORE_ID"`,
      ].join("\n"),
    },
    {
      title: "Connect it, then check the state until it is CONNECTED (FAILED: see ConnectionErrorCode in describe-custom-key-stores)",
      shell: [
        cmd([["aws", "kms", "connect-custom-key-store"], r, ["--custom-key-store-id", '"$XKS_STORE_ID"']]),
        cmd([["aws", "kms", "describe-custom-key-stores"], r, ["--custom-key-store-id", '"$XKS_STORE_ID"'], ["--query", shellQuote("CustomKeyStores[0].ConnectionState"), "--output", "text"]]),
      ].join("\n"),
    },
    {
      title: "Write the key policy naming the key administrator",
      shell: `cat > xks-key-policy.json <<'EOF'\n${JSON.stringify(policy, null, 2)}\nEOF`,
    },
    ...keyIds.map((id) => ({
      title: `Create a KMS key backed by the external key ${id}`,
      shell: cmd([
        ["aws", "kms", "create-key"],
        r,
        ["--origin", "EXTERNAL_KEY_STORE"],
        ["--custom-key-store-id", '"$XKS_STORE_ID"'],
        ["--xks-key-id", shellQuote(id)],
        ["--key-spec", "SYMMETRIC_DEFAULT", "--key-usage", "ENCRYPT_DECRYPT"],
        ["--description", shellQuote(`XKS key ${id} (xksctl)`)],
        ["--policy", "file://xks-key-policy.json"],
      ]),
    })),
  ];
  return { region, keyStoreName: name, uriPath, endpoint, accessKeyId: akid, keyIds, keyPolicy: policy, steps, warnings };
}

/** Renders the steps as one commented shell script. */
export function awsStepsScript(s: AwsSteps): string {
  const head = ["#!/bin/sh", "# AWS steps for the XKS key store, generated by `xksctl aws`.", "set -eu", ""];
  const body = s.steps.flatMap((step, i) => [`# ${i + 1}. ${step.title}`, step.shell, ""]);
  return [...head, ...body].join("\n");
}
