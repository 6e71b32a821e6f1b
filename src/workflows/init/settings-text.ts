/**
 * The settings file init writes: templates/settings.toml filled in, plus the xksctl extensions
 * a setup needs (the PIN file of an OCS, the SoftHSM config of a local token), each with a
 * comment. The text is validated in memory, with not-yet-written secret files supplied, so the
 * HSM round trip uses exactly the settings that will be written.
 */
import fs from "node:fs";
import TOML from "@iarna/toml";
import { formatProblem } from "../../config/load.js";
import { renderSettings } from "../../config/render-settings.js";
import { applySettingsEdits, type SettingsEdit } from "../../config/settings-edit.js";
import type { Settings } from "../../config/types.js";
import { validateSettings } from "../../config/validate.js";
import { XksctlError } from "../../errors.js";

/** Everything init decides for the settings. */
export interface InitSettings {
  ip: string;
  port: number;
  pingPort: number;
  region: string;
  tlsCert: string;
  tlsKey: string;
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  keyIds: string[];
  /** Inline PIN ("" for nShield module protection and for OCS with a PIN file). */
  pin: string;
  /** The OCS passphrase file (mode 0600) the settings point to. */
  pinFile?: string;
  pkcs11Module: string;
  tokenLabel: string;
  /** nShield: the HSM makes the IV into a zero buffer (can_generate_iv, is_zero_iv_required). */
  hsmIv: boolean;
  /** SoftHSM: the token's softhsm2.conf, relative to the settings file. */
  softhsmConf?: string;
}

const PIN_FILE_NOTE = "# xksctl extension: the PIN (the card set's passphrase) is read from this file (mode 0600).";
const SOFTHSM_NOTE = "# xksctl extension: the SoftHSM2 token's configuration (relative to this file); no SOFTHSM2_CONF needed.";

/** The settings text for these values. */
export function renderInitSettings(v: InitSettings): string {
  let text = renderSettings({
    ip: v.ip,
    port: v.port,
    port_http_ping: v.pingPort,
    region: v.region,
    is_tls_enabled: true,
    tls_cert_pem: v.tlsCert,
    tls_key_pem: v.tlsKey,
    uri_path_prefix: v.prefix,
    sigv4_access_key_id: v.accessKeyId,
    sigv4_secret_access_key: v.secretAccessKey,
    xks_key_id_set: v.keyIds,
    session_pool_max_size: 16,
    user_pin: v.pin,
    PKCS11_HSM_MODULE: v.pkcs11Module,
    token_label: v.tokenLabel,
    can_generate_iv: v.hsmIv,
    is_zero_iv_required: v.hsmIv,
  });
  const edits: SettingsEdit[] = [];
  if (v.pinFile !== undefined) edits.push({ op: "set", at: { table: "pkcs11" }, key: "user_pin_file", value: v.pinFile });
  if (v.softhsmConf !== undefined) edits.push({ op: "set", at: { table: "pkcs11" }, key: "softhsm2_conf", value: v.softhsmConf });
  if (edits.length > 0) text = applySettingsEdits(text, edits);
  text = text.replace(/^user_pin_file = /m, `${PIN_FILE_NOTE}\nuser_pin_file = `).replace(/^softhsm2_conf = /m, `${SOFTHSM_NOTE}\nsofthsm2_conf = `);
  return text;
}

/**
 * Validates a settings text as if it were the file `file`; `pending` supplies secret files that
 * are not written yet. Throws XKS_CONFIG_INVALID listing every problem (a bug in init if ever).
 */
export function settingsFromText(text: string, file: string, env: NodeJS.ProcessEnv, pending: ReadonlyMap<string, string> = new Map()): Settings {
  const r = validateSettings(TOML.parse(text) as Record<string, unknown>, file, {
    env,
    readSecretFile: (f) => pending.get(f) ?? fs.readFileSync(f, "utf8"),
  });
  if (!r.settings) {
    throw new XksctlError("XKS_CONFIG_INVALID", `${file}: the settings init made are not valid (${r.problems.length} problems); nothing was written.`, { details: r.problems.map(formatProblem) });
  }
  return r.settings;
}
