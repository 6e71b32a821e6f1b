/**
 * A folder init already set up: what its settings say (the defaults of a new run) and whether
 * it works: valid settings, TLS files that fit, cknfastrc lines, and an AES-GCM round trip with
 * every key in the HSM. A CSR still waiting for the CA's chain is a pending step, not a fault.
 */
import fs from "node:fs";
import path from "node:path";
import { cknfastPlan, effectiveCknfastVar } from "../../config/cknfastrc.js";
import { checkSettingsDocument, defaultValidateDeps, formatProblem, readSettingsDocument } from "../../config/load.js";
import { rawStores } from "../../config/stores.js";
import type { Settings } from "../../config/types.js";
import { isXksctlError } from "../../errors.js";
import type { Hsm } from "../../hsm/types.js";
import type { Exec } from "../../platform/exec.js";
import { roundTripKey } from "../test-key.js";
import { checkTlsFiles, csrCommonName, csrPathFor } from "../tls-files.js";

/** What the existing settings say (raw, also when they are not valid). */
export interface ExistingValues {
  ip?: string;
  port?: number;
  pingPort?: number;
  region?: string;
  prefix?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  keyIds: string[];
  tokenLabel?: string;
  pinFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** From the installed certificate, else the CSR beside the key. */
  endpoint?: string;
  protection?: "module" | "ocs";
  cardset?: string;
  softhsmConf?: string;
}

/** The verdict on an existing setup. */
export interface ExistingSetup {
  settingsFile: string;
  values: ExistingValues;
  /** Nothing is broken (pending steps may remain). */
  works: boolean;
  broken: string[];
  pending: string[];
  /** What was checked and is fine, one line each. */
  fine: string[];
  settings?: Settings;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}

/** The protection a token label means on nShield. */
function protectionOf(label: string | undefined): { protection?: "module" | "ocs"; cardset?: string } {
  if (label === undefined || label === "") return {};
  if (label === "accelerator" || label === "loadshared accelerator") return { protection: "module" };
  return { protection: "ocs", cardset: label };
}

/** Reads and checks the setup whose settings are `settingsFile`; `cknfastrc` (nShield) as the probe read it. */
export async function inspectExisting(
  settingsFile: string,
  deps: { exec: Exec; openHsm: (s: Settings) => Promise<Hsm>; randomBytes: (n: number) => Buffer; env: NodeJS.ProcessEnv; cwd: string; now: () => number; cknfastrc?: { file: string; vars: ReadonlyMap<string, string> } },
): Promise<ExistingSetup> {
  const broken: string[] = [];
  const pending: string[] = [];
  const fine: string[] = [];
  const values: ExistingValues = { keyIds: [] };
  let doc: Record<string, unknown>;
  try {
    doc = readSettingsDocument(settingsFile).doc;
  } catch (err) {
    broken.push(isXksctlError(err) ? err.message : String(err));
    return { settingsFile, values, works: false, broken, pending, fine };
  }
  const server = (doc.server ?? {}) as Record<string, unknown>;
  const tls = (doc.tls ?? {}) as Record<string, unknown>;
  const pkcs11 = (doc.pkcs11 ?? {}) as Record<string, unknown>;
  const store = rawStores(doc)[0];
  Object.assign(values, {
    ip: str(server.ip),
    port: num(server.port),
    pingPort: num(server.port_http_ping),
    region: str(server.region),
    prefix: store?.prefix,
    accessKeyId: str(store?.raw.sigv4_access_key_id),
    secretAccessKey: str(store?.raw.sigv4_secret_access_key),
    keyIds: store?.keyIds ?? [],
    tokenLabel: str(pkcs11.token_label),
    pinFile: str(pkcs11.user_pin_file),
    tlsCert: str(tls.tls_cert_pem) || undefined,
    tlsKey: str(tls.tls_key_pem) || undefined,
    softhsmConf: str(pkcs11.softhsm2_conf),
    ...protectionOf(str(pkcs11.token_label)),
  });
  for (const k of Object.keys(values) as (keyof ExistingValues)[]) if (values[k] === undefined) delete values[k];

  const checked = checkSettingsDocument(doc, settingsFile, defaultValidateDeps(deps.env));
  if (!checked.settings) broken.push(...checked.problems.map((p) => `settings: ${formatProblem(p)}`));
  else fine.push(`settings valid (${settingsFile})`);

  if (values.tlsCert && values.tlsKey) {
    // Resolved as serve resolves them (the working directory; init writes absolute paths).
    const cert = path.resolve(deps.cwd, values.tlsCert);
    const key = path.resolve(deps.cwd, values.tlsKey);
    if (!fs.existsSync(cert) && fs.existsSync(key) && fs.existsSync(csrPathFor(key))) {
      values.endpoint = await csrCommonName(deps.exec, csrPathFor(key));
      pending.push(`the CA's certificate chain is not installed yet: send ${csrPathFor(key)} to a public CA, then \`xksctl tls install CHAIN.pem --config ${settingsFile}\``);
    } else if (!fs.existsSync(cert) || !fs.existsSync(key)) {
      broken.push(`TLS: ${!fs.existsSync(cert) ? cert : key} does not exist`);
    } else {
      try {
        const r = checkTlsFiles(cert, key, { now: new Date(deps.now()) });
        if (r.leaf?.dnsNames[0]) values.endpoint = r.leaf.dnsNames[0];
        for (const p of r.problems) (p.severity === "fail" ? broken : fine).push(`TLS: ${p.severity === "warn" ? "warning: " : ""}${p.message}`);
        if (!r.problems.some((p) => p.severity === "fail")) fine.push(`TLS chain fits its key (${r.leaf?.subject ?? "?"}, until ${r.leaf?.notAfter.toISOString().slice(0, 10) ?? "?"})`);
      } catch (err) {
        broken.push(`TLS: ${isXksctlError(err) ? err.message : String(err)}`);
      }
    }
  }

  if (deps.cknfastrc && values.protection) {
    for (const [name, value] of Object.entries(cknfastPlan(values.protection).set)) {
      if (effectiveCknfastVar(deps.cknfastrc.vars, deps.env, name) === value) fine.push(`cknfastrc: ${name}=${value}`);
      else broken.push(`cknfastrc: ${deps.cknfastrc.file} does not set ${name}=${value} (${values.protection} protection)`);
    }
  }

  if (checked.settings) {
    const s = checked.settings;
    let hsm: Hsm | undefined;
    try {
      hsm = await deps.openHsm(s);
      for (const id of values.keyIds) {
        try {
          const r = await roundTripKey(hsm, id, deps.randomBytes, deps.now);
          fine.push(`key ${id}: AES-GCM round trip in the HSM ok (${r.keySpec})`);
        } catch (err) {
          broken.push(`key ${id}: ${isXksctlError(err) ? err.message : String(err)}`);
        }
      }
      if (values.keyIds.length === 0) broken.push("the key store lists no key (xks_key_id_set is empty)");
    } catch (err) {
      broken.push(`HSM: ${isXksctlError(err) ? err.message : String(err)}`);
    } finally {
      await hsm?.close().catch(() => undefined);
    }
  }
  return { settingsFile, values, works: broken.length === 0, broken, pending, fine, ...(checked.settings ? { settings: checked.settings } : {}) };
}
