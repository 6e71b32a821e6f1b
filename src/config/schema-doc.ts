/** Renders docs/config.md from the schema, so the reference of every key cannot drift. */
import { SCHEMA, type FieldSpec } from "./schema.js";

function typeText(f: FieldSpec): string {
  const t = f.type;
  switch (t.kind) {
    case "bool":
      return "bool";
    case "int":
      return `integer ${t.min}-${t.max}`;
    case "stringArray":
      return "string array";
    case "credentialArray":
    case "allowArray":
      return "array of tables";
    case "string":
      return t.oneOf ? t.oneOf.join(" \\| ") : "string";
  }
}

/** The Markdown text of docs/config.md. */
export function renderConfigDoc(): string {
  const out: string[] = [
    "# Settings reference",
    "",
    "<!-- Generated from src/config/schema.ts by `npm run docs:config`; a test fails when this file is stale. -->",
    "",
    "xksctl reads the AWS reference proxy's settings TOML unchanged (aws-samples/aws-kms-xks-proxy), found as",
    "`--config FILE`, else `$XKS_PROXY_SETTINGS_TOML`, else the file named by `configuration/bootstrap.toml`",
    "(relative to the working directory). `PKCS11_HSM_MODULE` in the environment overrides `[pkcs11]`;",
    "`[pkcs11_logger]` keys are exported as environment variables unless already set. Relative paths",
    "resolve against the working directory, as in the reference, except the `*_file` keys and",
    "`softhsm2_conf` (xksctl's own): those resolve against the settings file's folder.",
    "",
    "Keys marked *extension* are xksctl's own; the reference proxy ignores unknown keys, so a file",
    "using them still loads there. Unknown keys are reported as warnings by `xksctl config validate`.",
    "",
  ];
  for (const t of SCHEMA) {
    out.push(`## ${t.array ? `[[${t.path}]]` : `[${t.path}]`}${t.required ? "" : " (optional table)"}`, "");
    out.push("| key | type | required | default | meaning |", "|---|---|---|---|---|");
    for (const f of t.fields) {
      const def = f.default === undefined ? "" : `\`${JSON.stringify(f.default)}\``;
      const req = f.required ? "yes" : "no";
      const name = `\`${f.name}\`${f.extension ? " *extension*" : ""}${f.secret ? " (secret)" : ""}`;
      out.push(`| ${name} | ${typeText(f)} | ${req} | ${def} | ${f.description.replace(/\|/g, "\\|")} |`);
    }
    out.push("");
  }
  return out.join("\n");
}
