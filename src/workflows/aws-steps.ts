/**
 * `aws`: the AWS side of the integration guide as exact AWS CLI commands, built from the
 * settings (store prefix, access key id, region, key ids) and the admin's options: create and
 * connect the external key store, a key policy naming the key administrator, and one
 * `create-key --origin EXTERNAL_KEY_STORE --xks-key-id` per key. The SigV4 secret is never
 * printed and never on a command line (`ps` shows those): the script reads it from $XKS_SECRET or
 * from a 0600 file ($XKS_SECRET_FILE, `--secret-file`), and hands it to the AWS CLI as a 0600
 * temporary file (`--xks-proxy-authentication-credential file://...`), removed on exit.
 */
import { XksctlError } from "../errors.js";
import { shellQuote } from "../platform/exec.js";
import { kmsEndpointUrlProblem } from "../platform/x509.js";
import { formatMode, readPrivateFile } from "../platform/secret-file.js";
import { REGION_RE, SECRET_RE, SECRET_RULE, isUsableAccessKeyId } from "../rules.js";
import { readSettingsDocument } from "../config/load.js";
import { selectStore, storeUriPath } from "../config/stores.js";

/** The admin's choices. */
export interface AwsStepsInput {
  settingsFile: string;
  store?: string;
  /** `https://<DNS name>` KMS uses to reach the proxy (port 443). */
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
  /** A 0600 file holding the secret (alone, or xksctl's KMS console / AWS CLI credential JSON): the script's default $XKS_SECRET_FILE. */
  secretFile?: string;
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
function parsePrincipalArn(arn: string, flag: string): { partition: string; account: string } {
  const m = ARN_RE.exec(arn);
  if (!m) throw new XksctlError("XKS_USAGE", `${flag} must be an IAM user, role or root ARN like arn:aws:iam::111122223333:role/KeyAdmin, got ${JSON.stringify(arn)}`);
  return { partition: m[1]!, account: m[2]! };
}

/** Checks the endpoint is what KMS takes as XksProxyUriEndpoint (kmsEndpointUrlProblem); returns it without a slash. */
export function normaliseEndpoint(raw: string): string {
  const { problem } = kmsEndpointUrlProblem(raw);
  if (problem) throw new XksctlError("XKS_USAGE", `--endpoint ${JSON.stringify(raw)} is not what KMS accepts as XksProxyUriEndpoint: ${problem}. Give https://<DNS name>, e.g. https://xks.example.com`);
  return new URL(raw).origin;
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
  if (!region || !REGION_RE.test(region)) {
    throw new XksctlError("XKS_USAGE", `Pass --region (the AWS region of the KMS keys); the settings give ${JSON.stringify(region ?? null)}.`);
  }
  if (server.region !== undefined && server.region !== region) {
    warnings.push(`[server].region is ${JSON.stringify(server.region)} but the steps use ${region}: the proxy accepts SigV4 from its configured region only`);
  }
  const uriPath = storeUriPath(store);
  const akid = store.raw.sigv4_access_key_id;
  if (!isUsableAccessKeyId(akid)) {
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
  if (input.secretFile) checkSecretFile(input.secretFile, akid);
  const r = ["--region", shellQuote(region)];
  const credential = '"file://$XKS_CREDENTIAL"';
  const connectivity = input.vpcEndpointService
    ? [["--xks-proxy-connectivity", "VPC_ENDPOINT_SERVICE"], ["--xks-proxy-vpc-endpoint-service-name", shellQuote(input.vpcEndpointService)]]
    : [["--xks-proxy-connectivity", "PUBLIC_ENDPOINT"]];
  const steps: AwsStep[] = [
    {
      title: "Create the external key store (the secret of the access key: $XKS_SECRET, or the 0600 file $XKS_SECRET_FILE; it is not printed here, nor put on a command line)",
      shell: [
        ...secretLines(akid, input.secretFile),
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

/** Why a secret file cannot be used, or nothing: it must be 0600 and hold the secret of `accessKeyId`. */
function checkSecretFile(file: string, accessKeyId: string): void {
  const { text, mode } = readPrivateFile(file, "secret");
  if ((mode & 0o077) !== 0) {
    throw new XksctlError("XKS_SECRET_SOURCE", `${file} holds a secret and is readable by group or others (mode ${formatMode(mode)}).`, { remedy: `Run chmod 600 ${file}, then run the command again.` });
  }
  const t = text.trim();
  let id: unknown;
  let secret: unknown = t;
  if (t.startsWith("{")) {
    try {
      const j = JSON.parse(t) as { AccessKeyId?: unknown; RawSecretAccessKey?: unknown; XksProxyAuthenticationCredential?: { AccessKeyId?: unknown; RawSecretAccessKey?: unknown } };
      const c = j.XksProxyAuthenticationCredential ?? j;
      id = c.AccessKeyId;
      secret = c.RawSecretAccessKey;
    } catch {
      secret = undefined;
    }
  }
  if (typeof secret !== "string" || !SECRET_RE.test(secret)) {
    throw new XksctlError("XKS_SECRET_SOURCE", `${file} holds no SigV4 secret: expected the secret alone (${SECRET_RULE}) or a KMS console / AWS CLI credential JSON.`);
  }
  if (id !== undefined && id !== accessKeyId) {
    throw new XksctlError("XKS_SECRET_SOURCE", `${file} is the credential of access key ${String(id)}, not of ${accessKeyId} (the key store's sigv4_access_key_id).`, { remedy: "Pass the file written for this access key id (or --store for another key store)." });
  }
}

/** Shell lines that read the secret ($XKS_SECRET, else the 0600 file $XKS_SECRET_FILE) into a 0600 temporary credential file. */
function secretLines(accessKeyId: string, secretFile?: string): string[] {
  return [
    ...(secretFile ? [`XKS_SECRET_FILE="\${XKS_SECRET_FILE:-${secretFile.replace(/["$`\\]/g, "\\$&")}}"`] : []),
    `if [ -z "\${XKS_SECRET:-}" ]; then`,
    `  [ -n "\${XKS_SECRET_FILE:-}" ] || { echo "set XKS_SECRET, or XKS_SECRET_FILE to a 0600 file, to the SigV4 secret of access key ${accessKeyId}" >&2; exit 1; }`,
    `  [ -z "$(find "$XKS_SECRET_FILE" -prune -perm /077)" ] || { echo "$XKS_SECRET_FILE must be mode 0600" >&2; exit 1; }`,
    `  XKS_SECRET=$(sed -n -e '/^[A-Za-z0-9+/=]\\{43,64\\}$/p' -e 's/.*"RawSecretAccessKey": *"\\([A-Za-z0-9+/=]*\\)".*/\\1/p' "$XKS_SECRET_FILE")`,
    "fi",
    "XKS_CREDENTIAL=$(mktemp)",
    `trap 'rm -f "$XKS_CREDENTIAL"' EXIT`,
    `printf '{"AccessKeyId":"%s","RawSecretAccessKey":"%s"}\\n' ${accessKeyId} "$XKS_SECRET" > "$XKS_CREDENTIAL"`,
  ];
}

/** The exact AWS CLI command that gives KMS a rotated credential from a 0600 credential file. */
export function updateCredentialCommand(o: { region?: string; keyStoreId?: string; credentialFile: string }): string {
  return cmd([
    ["aws", "kms", "update-custom-key-store"],
    ...(o.region ? [["--region", shellQuote(o.region)]] : []),
    ["--custom-key-store-id", o.keyStoreId ? shellQuote(o.keyStoreId) : '"$XKS_STORE_ID"'],
    ["--xks-proxy-authentication-credential", shellQuote(`file://${o.credentialFile}`)],
  ]);
}

/** Renders the steps as one commented shell script. */
export function awsStepsScript(s: AwsSteps): string {
  const head = ["#!/bin/sh", "# AWS steps for the XKS key store, generated by `xksctl aws`.", "set -eu", ""];
  const body = s.steps.flatMap((step, i) => [`# ${i + 1}. ${step.title}`, step.shell, ""]);
  return [...head, ...body].join("\n");
}
