#!/usr/bin/env node
// Entry point: loads the bundled CLI (dist/cli.js, built by `npm run build`). PKCS#11 calls run
// on the native driver's own threads (docs/decisions/0002-hsm-calls-off-the-event-loop.md), so
// the libuv thread pool keeps Node's default size: it serves only files, DNS and crypto.
"use strict";
const path = require("node:path");
const { pathToFileURL } = require("node:url");
import(pathToFileURL(path.join(__dirname, "..", "dist", "cli.js")).href)
  .then((m) => m.main())
  .catch((err) => {
    process.stderr.write(`✖ xksctl could not start: ${err && err.message}\n→ Run \`npm run build\` in the xksctl folder.\n`);
    process.exitCode = 70;
  });
