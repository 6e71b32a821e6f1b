#!/usr/bin/env node
/**
 * Builds dist/ from src/ with esbuild: one ES module for the CLI entry (commander, the command
 * definitions and what --help needs, bundled), and lazily loaded chunks for every command's work
 * (workflows, proxy, HSM layer), so `xksctl --help` loads a handful of files instead of ~30
 * (docs/decisions/0005-cli-bundle.md). Type checking is `tsc --noEmit` (npm run build runs both).
 * The large runtime packages stay external and load from node_modules; the native PKCS#11 driver
 * (`*.node`) stays external too, found from the package root at run time.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.join(root, "dist");
fs.rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { cli: "src/cli.ts" },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  // Bundled CommonJS packages (commander, @iarna/toml) call require(); give ES modules one.
  banner: { js: 'import { createRequire as __xksctlRequire } from "node:module";\nconst require = __xksctlRequire(import.meta.url);' },
  external: ["@inquirer/prompts", "execa", "undici", "pino", "prom-client", "*.node"],
  logLevel: "warning",
});
