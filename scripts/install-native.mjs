#!/usr/bin/env node
/**
 * package.json's "install" script: makes sure native/build/Release/xkshsm.node (the PKCS#11
 * driver, a Node-API addon) loads on this machine. A tarball from `npm pack` ships one built for
 * linux-x64 (glibc); when it loads, nothing is compiled, so a production host needs no build
 * toolchain. Otherwise (another platform, or a checkout whose C sources changed) it runs
 * native/build.sh, which needs make, g++ and python3 (node-gyp).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const addon = path.join(root, "native/build/Release/xkshsm.node");
const sources = ["native/xkshsm.c", "native/binding.gyp", "native/build.sh"].map((f) => path.join(root, f));

function loads() {
  try {
    createRequire(import.meta.url)(addon);
    return true;
  } catch {
    return false;
  }
}

// In a checkout the sources may be newer than the addon: native/build.sh decides (it rebuilds only then).
const checkout = fs.existsSync(path.join(root, ".git"));
if (!checkout && fs.existsSync(addon) && loads()) process.exit(0);
const force = !checkout && fs.existsSync(addon) ? ["--force"] : [];
if (!sources.every((f) => fs.existsSync(f))) {
  console.error(`xksctl: ${addon} does not load here and the native sources are missing; reinstall from a complete tarball.`);
  process.exit(1);
}
execFileSync("bash", [path.join(root, "native/build.sh"), ...force], { stdio: ["ignore", "ignore", "inherit"] });
