/** Writes docs/config.md from the schema (`npm run docs:config`). */
import fs from "node:fs";
import { renderConfigDoc } from "../src/config/schema-doc.js";

fs.writeFileSync(new URL("../docs/config.md", import.meta.url), renderConfigDoc());
