/** Every command, sorted by name. src/cli.ts registers exactly these. */
import type { CommandDef } from "./define.js";
import { awsCommand } from "./aws.js";
import { configCknfastrcCommand } from "./config-cknfastrc.js";
import { configValidateCommand } from "./config-validate.js";
import { credsGenerateCommand } from "./creds-generate.js";
import { credsRetireCommand } from "./creds-retire.js";
import { credsRotateCommand } from "./creds-rotate.js";
import { doctorCommand } from "./doctor.js";
import { hsmStatusCommand } from "./hsm-status.js";
import { initCommand } from "./init.js";
import { keysCreateCommand } from "./keys-create.js";
import { keysListCommand } from "./keys-list.js";
import { keysTestCommand } from "./keys-test.js";
import { ocsCreateCommand } from "./ocs-create.js";
import { serveCommand } from "./serve.js";
import { tlsCsrCommand } from "./tls-csr.js";
import { tlsInstallCommand } from "./tls-install.js";

export const COMMANDS = [
  awsCommand,
  configCknfastrcCommand,
  configValidateCommand,
  credsGenerateCommand,
  credsRetireCommand,
  credsRotateCommand,
  doctorCommand,
  hsmStatusCommand,
  initCommand,
  keysCreateCommand,
  keysListCommand,
  keysTestCommand,
  ocsCreateCommand,
  serveCommand,
  tlsCsrCommand,
  tlsInstallCommand,
] as readonly CommandDef<never>[];

/** What each command group is for, shown by `xksctl --help` and `xksctl <group> --help`. */
export const GROUPS: Readonly<Record<string, string>> = {
  config: "check the settings file and set up the nShield PKCS#11 library (cknfastrc)",
  creds: "SigV4 credentials that AWS KMS signs its requests with",
  hsm: "the nShield HSM as xksctl sees it: hardserver, Security World, modules, card sets",
  keys: "AES-256 keys for XKS in the HSM: create, list, test",
  ocs: "nShield Operator Card Sets that can protect XKS keys",
  tls: "the proxy's TLS files for a public CA: a new key and CSR, then install the CA's chain",
};
