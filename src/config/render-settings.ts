/**
 * Renders templates/settings.toml, a commented settings file in the reference proxy's schema.
 * Every placeholder must be given; values are TOML-encoded as the settings editor writes them
 * (renderTomlValue: strings as basic strings, integers only).
 */
import fs from "node:fs";
import { packagePath } from "../platform/package-root.js";
import { renderTomlValue } from "./settings-edit.js";

/** Values for the template, by placeholder name. */
export type TemplateValues = Record<string, string | number | boolean | string[]>;

/** The template shipped with xksctl. */
export const SETTINGS_TEMPLATE = packagePath("templates", "settings.toml");

/** Fills the template; a missing or unused value is a programming error. */
export function renderSettings(values: TemplateValues, template = fs.readFileSync(SETTINGS_TEMPLATE, "utf8")): string {
  const used = new Set<string>();
  const text = template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`settings template: no value for {{${name}}}`);
    used.add(name);
    return renderTomlValue(values[name]!);
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`settings template: unused values ${unused.join(", ")}`);
  return text;
}
