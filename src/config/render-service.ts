/**
 * Renders templates/xksctl.service (the systemd unit) with the real paths of one setup: the
 * settings file, the node binary and xksctl's entry, the nShield folder and PKCS#11 library.
 * The template stays installable as it is (its defaults are the /etc/xksctl and /opt layout), so
 * rendering replaces known lines; a template line that is missing is a programming error.
 */
import fs from "node:fs";
import { packagePath } from "../platform/package-root.js";

/** The unit template shipped with xksctl. */
export const SERVICE_TEMPLATE = packagePath("templates", "xksctl.service");

/** The real paths of one setup. */
export interface ServiceValues {
  settingsFile: string;
  /** Absolute path of the node executable. */
  node: string;
  /** Absolute path of bin/xksctl.cjs. */
  cli: string;
  /** $NFAST_HOME (default /opt/nfast). */
  nfastHome: string;
  /** The PKCS#11 library the settings name. */
  pkcs11Module: string;
  /** README.md of this installation (the unit's Documentation=). */
  readme: string;
}

/** Quotes one word of a systemd command line or assignment when it needs it. */
function unitWord(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** Replaces exactly one line of the template; throws when the line is not there once. */
function replaceLine(text: string, from: RegExp, to: string): string {
  const hits = text.match(new RegExp(from.source, "gm"))?.length ?? 0;
  if (hits !== 1) throw new Error(`service template: expected one line matching ${from}, found ${hits}`);
  return text.replace(new RegExp(from.source, "m"), to.replace(/\$/g, "$$$$"));
}

/** The unit text for these paths. */
export function renderService(v: ServiceValues, template = fs.readFileSync(SERVICE_TEMPLATE, "utf8")): string {
  let t = template;
  t = replaceLine(t, /^# systemd unit for the xksctl XKS proxy\. Install:$/, `# systemd unit for the xksctl XKS proxy, written by \`xksctl init\` for ${v.settingsFile}. Install:`);
  t = replaceLine(t, /^#\s+install -m 0644 templates\/xksctl\.service \/etc\/systemd\/system\/xksctl\.service$/, `#   install -m 0644 <this file> /etc/systemd/system/xksctl.service`);
  t = replaceLine(t, /^Documentation=.*$/, `Documentation=file://${v.readme}`);
  t = replaceLine(t, /^Environment=XKS_PROXY_SETTINGS_TOML=.*$/, `Environment=${unitWord(`XKS_PROXY_SETTINGS_TOML=${v.settingsFile}`)}`);
  t = replaceLine(t, /^#Environment=PKCS11_HSM_MODULE=.*$/, `#Environment=${unitWord(`PKCS11_HSM_MODULE=${v.pkcs11Module}`)}`);
  t = replaceLine(t, /^ExecStart=.*$/, `ExecStart=${unitWord(v.node)} ${unitWord(v.cli)} serve`);
  // The Security World's key files are read, never written, by the proxy.
  t = replaceLine(t, /^ReadOnlyPaths=-\/opt\/nfast\/kmdata$/, `ReadOnlyPaths=${unitWord(`-${v.nfastHome.replace(/\/+$/, "")}/kmdata`)}`);
  // ProtectHome=true hides /home, /root and /run/user: a setup living there must stay readable.
  const underHome = [v.settingsFile, v.cli, v.node].some((p) => /^\/(home|root|run\/user)(\/|$)/.test(p));
  if (underHome) t = replaceLine(t, /^ProtectHome=true$/, "ProtectHome=read-only");
  return t;
}
