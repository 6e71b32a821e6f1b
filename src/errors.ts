/**
 * The catalogue of user-fixable errors. Every code is declared once here, with its exit code
 * and the one-line fix; docs/errors.md lists the same codes (a test keeps both in step).
 */

/** One row of the catalogue. */
interface ErrorSpec {
  /** Exit status of the CLI when this error ends a command. */
  exitCode: number;
  /** What the admin should do, one line. `{name}` placeholders are filled from `details`. */
  remedy: string;
  /** The remedy as doctor shows it, where `remedy` sends the admin to `xksctl doctor`. */
  inDoctor?: string;
}

/** Every xksctl error code, with exit code and remedy template. */
export const ERROR_CATALOGUE = {
  XKS_USAGE: { exitCode: 2, remedy: "Run the command with --help for its options and examples." },
  XKS_CONFIG_NOT_FOUND: {
    exitCode: 1,
    remedy: "Pass --config FILE, set XKS_PROXY_SETTINGS_TOML, or create configuration/bootstrap.toml.",
  },
  XKS_CONFIG_PARSE: { exitCode: 1, remedy: "Fix the TOML syntax at the line and column shown." },
  XKS_CONFIG_INVALID: { exitCode: 1, remedy: "Fix each key listed above, then run `xksctl config validate`." },
  XKS_SECRET_SOURCE: {
    exitCode: 1,
    remedy: "Check the file or environment variable named above exists and is readable by xksctl.",
  },
  XKS_FILE_WRITE: { exitCode: 1, remedy: "Check the directory exists and is writable; the old file was kept." },
  XKS_FILE_READ: { exitCode: 1, remedy: "Check the path exists and is readable by the user running xksctl." },
  XKS_TLS_FILES: {
    exitCode: 1,
    remedy: "Check [tls] tls_cert_pem / tls_key_pem point at readable PEM files (xksctl init can create them); `xksctl doctor --group tls` checks key, chain, dates, names and root.",
    inDoctor: "Check [tls] tls_cert_pem / tls_key_pem point at readable PEM files (xksctl init can create them); the tls checks show key, chain, dates, names and root.",
  },
  XKS_LISTEN: { exitCode: 1, remedy: "Choose a free port ([server] port) or stop the process holding it." },
  XKS_HSM_MODULE: {
    exitCode: 1,
    remedy: "Set [pkcs11] PKCS11_HSM_MODULE (or the PKCS11_HSM_MODULE variable) to the vendor's PKCS#11 library.",
  },
  XKS_HSM_TOKEN: {
    exitCode: 1,
    remedy: "Check the token exists (`xksctl hsm status`); set [pkcs11] token_label to choose one.",
  },
  XKS_HSM_LOGIN: { exitCode: 1, remedy: "Check [pkcs11] user_pin (or its pin file / variable) is the token's user PIN." },
  XKS_HSM_LOGIN_REFUSED: {
    exitCode: 1,
    remedy:
      "nShield module protection needs CKNFAST_FAKE_ACCELERATOR_LOGIN=1 (`xksctl config cknfastrc --protection module`); OCS needs token_label = the card set and its passphrase as the PIN.",
  },
  XKS_HSM_SESSION: {
    exitCode: 1,
    remedy: "Check the token accepts read/write sessions and the HSM client has sessions free (`xksctl doctor --group nshield pkcs11`, the hardserver log).",
    inDoctor: "Check the token accepts read/write sessions and the HSM client has sessions free (the nshield checks, the hardserver log).",
  },
  XKS_HSM_KEYGEN: {
    exitCode: 1,
    remedy: "Allow AES-256 key generation for this user and token (nShield: a Security World or card set that permits it).",
  },
  XKS_HSM_OPEN_TIMEOUT: {
    exitCode: 1,
    remedy: "Check that the HSM answers (nShield: `enquiry` shows the hardserver and module operational; the network to the module), then start again; raise [pkcs11] open_timeout_milli only if it is just slow.",
  },
  XKS_NATIVE_DRIVER: { exitCode: 1, remedy: "Build the native PKCS#11 driver: `npm run build:native` in the xksctl folder (needs make, g++ and python3)." },
  XKS_HSM_OPERATION: {
    exitCode: 1,
    remedy: "Run `xksctl doctor --group pkcs11` to see which step fails (library, token, PIN, keys, round trip, IV), then check the HSM's log.",
    inDoctor: "Check the HSM's log; the pkcs11 checks show which step fails (library, token, PIN, keys, round trip, IV).",
  },
  XKS_KEY_INVALID_ID: {
    exitCode: 1,
    remedy: "Use 1-128 characters from A-Z a-z 0-9 - . _ (and not `.` or `..`).",
  },
  XKS_KEY_EXISTS: { exitCode: 1, remedy: "Choose another key id, or use the existing key." },
  XKS_KEY_NOT_FOUND: { exitCode: 1, remedy: "List keys with `xksctl keys list`; create one with `xksctl keys create`." },
  XKS_STORE_NOT_FOUND: { exitCode: 1, remedy: "Pass --store with a uri_path_prefix from the settings file." },
  XKS_TOOL_MISSING: {
    exitCode: 1,
    remedy: "Install the nShield Security World software, or set NFAST_HOME to where it lives.",
  },
  XKS_TOOL_FAILED: { exitCode: 1, remedy: "Read the tool's message above; run it by hand to see the full output." },
  XKS_TOOL_TIMEOUT: {
    exitCode: 1,
    remedy: "Check the hardserver responds (`xksctl doctor --group nshield`); retry when the HSM is idle.",
    inDoctor: "Check the hardserver (`/opt/nfast/sbin/init.d-ncipher restart`) and run `enquiry` by hand; retry when the HSM is idle.",
  },
  XKS_TOOL_OUTPUT: {
    exitCode: 1,
    remedy: "xksctl did not understand this nShield version's output; report it with the quoted line.",
  },
  XKS_HARDSERVER_DOWN: { exitCode: 1, remedy: "Start the hardserver: `/opt/nfast/sbin/init.d-ncipher start`." },
  XKS_WORLD_UNUSABLE: {
    exitCode: 1,
    remedy: "Load or create the Security World (`new-world`), then check `nfkminfo`.",
  },
  XKS_MODULE_UNUSABLE: { exitCode: 1, remedy: "Check the module is in operational mode and enrolled (`enquiry`, `nethsmenroll`)." },
  XKS_CARD_PROBLEM: {
    exitCode: 1,
    remedy: "Insert a card of the right card set in the slot and retype the passphrase.",
  },
  XKS_TOOL_BAD_PARAMETER: { exitCode: 1, remedy: "Fix the parameter named above (see `xksctl <verb> --help`)." },
  XKS_PROMPT_NEEDED: { exitCode: 2, remedy: "Pass the value as the option named above when running without a terminal." },
  XKS_INTERRUPTED: { exitCode: 130, remedy: "Run the command again when ready; xksctl writes files only after its summary is confirmed." },
  XKS_SETUP_EXISTS: {
    exitCode: 1,
    remedy: "Keep it (`xksctl init --yes` exits 0 when it works), fix what is listed, or pass --force to replace it (old files are kept as .bak).",
  },
} as const satisfies Record<string, ErrorSpec>;

/** A stable error code from the catalogue. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

const BRAND = Symbol.for("xksctl.error");

/** A user-fixable error: stable code, one-line message, one-line remedy, exit code. */
export class XksctlError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  readonly remedy: string;
  readonly exitCode: number;
  /** Extra lines (e.g. one per invalid key) shown under the message. */
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, opts: { remedy?: string; details?: string[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "XksctlError";
    this.code = code;
    this.remedy = opts.remedy ?? ERROR_CATALOGUE[code].remedy;
    this.exitCode = ERROR_CATALOGUE[code].exitCode;
    this.details = opts.details ?? [];
  }
}

/** True for an XksctlError from any copy of this module (brand check, not instanceof). */
export function isXksctlError(err: unknown): err is XksctlError {
  return typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}
