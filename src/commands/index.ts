/** Every command, sorted by name. src/cli.ts registers exactly these. */
import type { CommandDef } from "./define.js";
import { awsCommand } from "./aws.js";
import { configCknfastrcCommand } from "./config-cknfastrc.js";
import { configValidateCommand } from "./config-validate.js";
import { credsGenerateCommand } from "./creds-generate.js";
import { hsmStatusCommand } from "./hsm-status.js";
import { initCommand } from "./init.js";
import { keysCreateCommand } from "./keys-create.js";
import { keysListCommand } from "./keys-list.js";
import { keysTestCommand } from "./keys-test.js";
import { ocsCreateCommand } from "./ocs-create.js";
import { serveCommand } from "./serve.js";

export const COMMANDS = [
  awsCommand,
  configCknfastrcCommand,
  configValidateCommand,
  credsGenerateCommand,
  hsmStatusCommand,
  initCommand,
  keysCreateCommand,
  keysListCommand,
  keysTestCommand,
  ocsCreateCommand,
  serveCommand,
] as readonly CommandDef<never>[];
