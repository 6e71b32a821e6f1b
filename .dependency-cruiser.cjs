/**
 * The layer rules of xksctl (docs/architecture.md), checked by `npm test` (scripts/check-layers.sh).
 * Imports point down: commands → workflows → config | hsm | proxy → platform → base
 * (src/errors.ts, src/rules.ts, src/version.ts, src/context.ts). A violation names its rule.
 */
const BASE = "^src/(errors|rules|version|context)\\.ts$";
const LOWER = "^src/(config|hsm|proxy|workflows|platform)/";

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A cycle makes the layers meaningless and the load order fragile.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "base-imports-nothing-above",
      severity: "error",
      comment: "errors, rules, version and context are the base every layer may use; they import no layer.",
      from: { path: BASE },
      to: { path: "^src/", pathNot: BASE },
    },
    {
      name: "platform-is-the-bottom",
      severity: "error",
      comment: "platform (exec, files) serves config, hsm and workflows; it knows none of them.",
      from: { path: "^src/platform/" },
      to: { path: "^src/", pathNot: [BASE, "^src/platform/"] },
    },
    {
      name: "config-knows-no-hsm",
      severity: "error",
      comment: "config (settings, cknfastrc, credentials) uses only platform and the base; flows that also need the HSM belong in workflows.",
      from: { path: "^src/config/" },
      to: { path: "^src/", pathNot: [BASE, "^src/platform/", "^src/config/"] },
    },
    {
      name: "hsm-knows-no-settings",
      severity: "error",
      comment: "hsm (PKCS#11, nShield tools) reads no settings file and knows no command; workflows map settings to HSM options.",
      from: { path: "^src/hsm/" },
      to: { path: "^src/", pathNot: [BASE, "^src/platform/", "^src/hsm/"] },
    },
    {
      name: "proxy-sees-hsm-only-through-its-interface",
      severity: "error",
      comment: "The proxy calls the Hsm interface and HsmError of src/hsm/types.ts, never PKCS#11 internals.",
      from: { path: "^src/proxy/" },
      to: { path: "^src/hsm/", pathNot: "^src/hsm/types\\.ts$" },
    },
    {
      name: "proxy-is-below-workflows",
      severity: "error",
      comment: "The proxy is started by workflows/serve.ts; it imports no workflow, command or ui module.",
      from: { path: "^src/proxy/" },
      to: { path: "^src/(workflows|commands|ui)/|^src/cli\\.ts$" },
    },
    {
      name: "nothing-below-commands-imports-ui",
      severity: "error",
      comment: "Rendering (ui) is for commands and the CLI entry only; lower layers return data.",
      from: { path: [LOWER, BASE] },
      to: { path: "^src/ui/" },
    },
    {
      name: "ui-renders-only",
      severity: "error",
      comment: "ui renders results and asks questions; it does no work of the layers below.",
      from: { path: "^src/ui/" },
      to: { path: "^src/(config|hsm|proxy|workflows|platform|commands)/" },
    },
    {
      name: "workflows-are-below-commands",
      severity: "error",
      comment: "Workflows are called by commands, never the other way round.",
      from: { path: "^src/workflows/" },
      to: { path: "^src/commands/|^src/cli\\.ts$" },
    },
    {
      name: "commands-load-their-work-lazily",
      severity: "error",
      comment:
        "`xksctl --help` must not load the native PKCS#11 driver, the proxy or the nShield layer: a command imports its workflow with `await import()` inside run().",
      from: { path: "^src/(commands/|cli\\.ts$)" },
      to: { path: LOWER, dependencyTypesNot: ["dynamic-import", "type-only"] },
    },
    {
      name: "no-unresolvable",
      severity: "error",
      comment: "An import that resolves to nothing fails at run time.",
      from: { path: "^src/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    includeOnly: "^src/",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"], extensions: [".ts", ".js"] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
