#!/usr/bin/env node
// Entry point. CommonJS on purpose: it runs before any ES module loads, so the libuv thread
// pool (which runs PKCS#11 calls, see docs/decisions/0002-hsm-calls-off-the-event-loop.md)
// is sized before its first use.
"use strict";
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = "64";
const path = require("node:path");
const { pathToFileURL } = require("node:url");
import(pathToFileURL(path.join(__dirname, "..", "dist", "cli.js")).href)
  .then((m) => m.main())
  .catch((err) => {
    process.stderr.write(`✖ xksctl could not start: ${err && err.message}\n→ Run \`npm run build\` in the xksctl folder.\n`);
    process.exitCode = 70;
  });
