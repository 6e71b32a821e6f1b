/** Every command, sorted by name. src/cli.ts registers exactly these. */
import type { CommandDef } from "./define.js";
import { configValidateCommand } from "./config-validate.js";
import { serveCommand } from "./serve.js";

export const COMMANDS = [configValidateCommand, serveCommand] as readonly CommandDef<never>[];
