/** Turns `xksctl doctor`'s flags into DoctorOptions; every wrong combination is a usage error (exit 2). */
import fs from "node:fs";
import path from "node:path";
import { XksctlError } from "../../errors.js";
import { ACCESS_KEY_ID_RE, ACCESS_KEY_ID_RULE, REGION_RE, SECRET_RE, SECRET_RULE } from "../../rules.js";
import { urlProblem } from "./live.js";
import { DOCTOR_GROUPS, type DoctorGroup, type DoctorOptions } from "./types.js";

/** The flags as commander gives them. */
export interface DoctorFlags {
  config?: string;
  group?: string[] | string;
  endpoint?: string;
  serviceUser?: string;
  url?: string;
  accessKeyId?: string;
  secretFile?: string;
  region?: string;
  keyId?: string[] | string;
  caFile?: string;
}

const usage = (message: string): XksctlError => new XksctlError("XKS_USAGE", message);

/** Splits "a,b c" and repeated values into a list. */
function list(v: string[] | string | undefined): string[] {
  const all = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return all.flatMap((s) => s.split(/[,\s]+/)).filter((s) => s !== "");
}

/** Validates the flags and reads the --url mode's secret and CA files. */
export function doctorOptions(flags: DoctorFlags, cwd: string): DoctorOptions {
  const groups = list(flags.group);
  const unknown = groups.filter((g) => !(DOCTOR_GROUPS as readonly string[]).includes(g));
  if (unknown.length > 0) throw usage(`--group: unknown ${unknown.map((g) => JSON.stringify(g)).join(", ")}; the groups are ${DOCTOR_GROUPS.join(", ")}`);
  const urlOnly = { "--access-key-id": flags.accessKeyId, "--secret-file": flags.secretFile, "--region": flags.region, "--key-id": flags.keyId, "--ca-file": flags.caFile };
  if (flags.url === undefined) {
    const stray = Object.entries(urlOnly).filter(([, v]) => v !== undefined).map(([k]) => k);
    if (stray.length > 0) throw usage(`${stray.join(", ")} ${stray.length === 1 ? "goes" : "go"} with --url (the live checks against a proxy without local settings)`);
    return {
      ...(flags.config ? { config: flags.config } : {}),
      ...(groups.length > 0 ? { groups: groups as DoctorGroup[], explicitGroups: true } : {}),
      ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
      ...(flags.serviceUser ? { serviceUser: flags.serviceUser } : {}),
    };
  }
  const local = { "--config": flags.config, "--endpoint": flags.endpoint, "--service-user": flags.serviceUser };
  const clash = Object.entries(local).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (clash.length > 0) throw usage(`--url checks a proxy without local settings: drop ${clash.join(", ")}`);
  if (groups.some((g) => g !== "live")) throw usage("--url runs the live group only");
  const why = urlProblem(flags.url);
  if (why) throw usage(`--url ${JSON.stringify(flags.url)}: ${why}`);
  if (!flags.accessKeyId) throw usage("--url needs --access-key-id (the key store's SigV4 access key id)");
  if (!ACCESS_KEY_ID_RE.test(flags.accessKeyId)) throw usage(`--access-key-id must be ${ACCESS_KEY_ID_RULE} (KMS's format), got ${flags.accessKeyId.length} characters`);
  if (!flags.secretFile) throw usage("--url needs --secret-file (a file holding the SigV4 secret access key)");
  const secretFile = path.resolve(cwd, flags.secretFile);
  let secret: string;
  try {
    secret = fs.readFileSync(secretFile, "utf8").replace(/\r?\n$/, "");
  } catch (err) {
    throw new XksctlError("XKS_SECRET_SOURCE", `Cannot read --secret-file ${secretFile} (${(err as NodeJS.ErrnoException).code ?? "error"}).`);
  }
  if (!SECRET_RE.test(secret)) throw usage(`--secret-file ${secretFile}: the secret must be ${SECRET_RULE} (KMS's format), got a ${secret.length}-character value`);
  const region = flags.region ?? "us-east-1";
  if (!REGION_RE.test(region)) throw usage(`--region ${JSON.stringify(region)} is not an AWS region name (e.g. us-east-1)`);
  let caPem: string | undefined;
  let caFile: string | undefined;
  if (flags.caFile) {
    caFile = path.resolve(cwd, flags.caFile);
    try {
      caPem = fs.readFileSync(caFile, "utf8");
    } catch (err) {
      throw new XksctlError("XKS_FILE_READ", `Cannot read --ca-file ${caFile} (${(err as NodeJS.ErrnoException).code ?? "error"}).`);
    }
    if (!/-----BEGIN CERTIFICATE-----/.test(caPem)) throw usage(`--ca-file ${caFile} holds no PEM certificate`);
  }
  return {
    groups: ["live"],
    url: { url: flags.url.replace(/\/+$/, ""), accessKeyId: flags.accessKeyId, secret, region, keyIds: list(flags.keyId), ...(caPem ? { caPem, caFile } : {}) },
  };
}
