/**
 * Helpers for the operator-verb tests: an in-process CLI run with a captured Context, a
 * temporary NFAST_HOME with the nShield stand-ins first on PATH (keys land in a SoftHSM token),
 * and a commented settings file whose comments must survive every edit.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../../src/cli.js";
import type { OperatorContext, OperatorDeps } from "../../src/workflows/deps.js";
import type { Exec } from "../../src/platform/exec.js";
import { nonInteractivePrompts } from "../../src/ui/dialogs.js";
import type { TestToken } from "./softhsm.js";
import { SOFTHSM_LIB } from "./softhsm.js";
import { tempDir } from "./tmp.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The nShield TEST STAND-INS (never shipped). */
export const STANDIN_BIN = path.join(ROOT, "test/fixtures/nfast/bin");

/** What a CLI run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of an in-process run. */
export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  interactive?: boolean;
  operator?: Partial<OperatorDeps>;
}

/** Runs `xksctl <argv>` in-process through runCli with a captured test Context. */
export async function runXksctl(argv: string[], opts: RunOptions = {}): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  let clock = 1_700_000_000_000;
  const ctx: OperatorContext = {
    env: opts.env ?? { PATH: process.env.PATH },
    cwd: opts.cwd ?? process.cwd(),
    stdout: { write: (s) => void (stdout += s) },
    stderr: { write: (s) => void (stderr += s) },
    now: () => (clock += 1),
    prompts: nonInteractivePrompts,
    interactive: opts.interactive ?? false,
    ...(opts.operator ? { operator: opts.operator } : {}),
  };
  const code = await runCli(argv, ctx);
  return { code, stdout, stderr };
}

/** A temporary nShield installation served by the stand-ins. */
export interface StandinWorld {
  home: string;
  /** Environment for tools and xksctl: stand-ins first on PATH, NFAST_HOME, SoftHSM token. */
  env: NodeJS.ProcessEnv;
  /** Every stand-in invocation so far, in order. */
  invocations(): { tool: string; argv: string[] }[];
  cleanup(): void;
}

/** Makes a fresh NFAST_HOME whose generatekey writes keys into `token` (none: generatekey cannot run). */
export function createStandinWorld(token?: TestToken, extraEnv: NodeJS.ProcessEnv = {}): StandinWorld {
  const home = tempDir("xksctl-nfast-");
  fs.mkdirSync(path.join(home, "kmdata", "local"), { recursive: true });
  const log = path.join(home, "invocations.jsonl");
  const env: NodeJS.ProcessEnv = {
    PATH: `${STANDIN_BIN}${path.delimiter}${process.env.PATH ?? ""}`,
    HOME: home,
    NFAST_HOME: home,
    ...(token ? { SOFTHSM2_CONF: token.conf, NFAST_STANDIN_TOKEN_LABEL: token.label, NFAST_STANDIN_PIN: token.pin, NFAST_STANDIN_PKCS11_LIB: SOFTHSM_LIB } : {}),
    NFAST_STANDIN_LOG: log,
    ...extraEnv,
  };
  return {
    home,
    env,
    invocations: () =>
      fs.existsSync(log)
        ? fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { tool: string; argv: string[] })
        : [],
    cleanup: () => fs.rmSync(home, { recursive: true, force: true }),
  };
}

/** An Exec wrapper that runs "inherit"/"tee" requests with pipes (tests have no terminal). */
export function pipedExec(inner: Exec): Exec & { requests: { tool: string; stdio: string }[] } {
  const requests: { tool: string; stdio: string }[] = [];
  return {
    requests,
    run: (req) => {
      requests.push({ tool: req.tool, stdio: req.stdio ?? "pipe" });
      return inner.run({ ...req, stdio: "pipe" });
    },
  };
}

/** Options of the commented test settings file. */
export interface CommentedSettingsOptions {
  tokenLabel: string;
  pin: string;
  module?: string;
  /** Key ids of the first store. */
  keyIds?: string[];
  accessKeyId?: string;
  secret?: string;
  /** Adds a second store with prefix "/second/store". */
  secondStore?: boolean;
  /** Replaces the first store's inline secret by this file reference. */
  secretFile?: string;
}

/** A settings file in the reference layout, full of comments and odd spacing that edits must keep. */
export function commentedSettings(o: CommentedSettingsOptions): string {
  const ids = (o.keyIds ?? ["existing-key"]).map((k) => `    "${k}", # keep this comment\n`).join("");
  const secretLine = o.secretFile
    ? `sigv4_secret_access_key_file = "${o.secretFile}"`
    : `sigv4_secret_access_key = "${o.secret ?? "PleaseReplaceThisWithSomeSecretOfLength43To64"}"   # secret comment`;
  return `# xksctl operator test settings
# (every comment here must survive edits by xksctl)

[server]
ip = "127.0.0.1"
port = 8443 # main port
port_http_ping = 8080
region = "us-east-1"
service = "kms-xks-proxy"

[server.tcp_keepalive]
tcp_keepalive_secs = 60

[tracing]
is_stdout_writer_enabled = false
is_file_writer_enabled = false
level = "INFO"

[security]
is_sigv4_auth_enabled = true
is_tls_enabled = false
is_mtls_enabled = false

# The first logical key store.
[[external_key_stores]]
uri_path_prefix = "/example/prefix"   # KMS XksProxyUriPath = prefix + /kms/xks/v1
sigv4_access_key_id = "${o.accessKeyId ?? "BETWEEN2TENAND3TENCHARACTERS"}"
${secretLine}
xks_key_id_set = [
${ids}]
${
  o.secondStore
    ? `
[[external_key_stores]]
uri_path_prefix = "/second/store"
sigv4_access_key_id = "SECONDSTOREACCESSKEY23"
sigv4_secret_access_key = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
xks_key_id_set = ["second-key"]   # one-line array
`
    : ""
}
[pkcs11]
session_pool_max_size = 2
session_pool_timeout_milli = 0
session_eager_close = false
user_pin = "${o.pin}"
PKCS11_HSM_MODULE = "${o.module ?? SOFTHSM_LIB}"
context_read_timeout_milli = 10
token_label = "${o.tokenLabel}"

[limits]
max_plaintext_in_base64 = 8192
max_aad_in_base64 = 16384

[hsm_capabilities]
can_generate_iv = false
is_zero_iv_required = false
# trailing comment
`;
}

/** Writes the commented settings into `dir` (mode 0600) and returns the path. */
export function writeCommentedSettings(dir: string, o: CommentedSettingsOptions, name = "settings.toml"): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, commentedSettings(o), { mode: 0o600 });
  return file;
}

/** Every `#` comment of a text, in order (to compare before and after an edit). */
export function comments(text: string): string[] {
  return text
    .split("\n")
    .map((l) => /#.*$/.exec(l)?.[0])
    .filter((c): c is string => c !== undefined);
}

/** Runs one stand-in tool directly to prepare state (e.g. a card set): failure switches off, not logged. */
export function runStandin(world: StandinWorld, tool: string, args: string[]): string {
  const off = { NFAST_STANDIN_LOG: "", NFAST_STANDIN_FAIL: "", NFAST_STANDIN_CARD: "", NFAST_STANDIN_HANG: "", NFAST_STANDIN_GARBAGE: "", NFAST_STANDIN_REJECT_PARAM: "" };
  return execFileSync(path.join(STANDIN_BIN, tool), args, { env: { ...world.env, ...off }, encoding: "utf8" });
}

/** An Exec that shortens every timeout (for hang tests). */
export function fastTimeoutExec(inner: Exec, timeoutMs: number): Exec {
  return { run: (req) => inner.run({ ...req, timeoutMs }) };
}
