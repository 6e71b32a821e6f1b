/**
 * The xksctl package folder (the one holding its package.json), found from this module's own
 * location, so it is right both for src/ under tsx and for the bundled dist/ (flat chunks).
 * Templates and the native addon are found from here.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/** Absolute path of the package root. */
function packageRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, "utf8")) as { name?: string }).name === "xksctl") return (cached = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`xksctl's package.json was not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** A path inside the package, e.g. packagePath("templates", "settings.toml"). */
export function packagePath(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}
