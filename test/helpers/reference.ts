/**
 * The reference proxy's own files (aws-kms-xks-proxy's settings samples and AES-GCM vectors) are
 * not part of this repository. The compatibility suite (test/compat) reads them from the folder
 * named by XKS_REFERENCE_DIR (holding reference-settings/ and vectors/; CI sets it to ../shared).
 * Without it every compat test is reported as skipped, with the reason, and reads nothing.
 *
 * Also here: stand-ins built by the tests themselves with the same shape as two of those samples,
 * for tests that only need a realistic settings file.
 */
import fs from "node:fs";
import path from "node:path";

export const REFERENCE_ENV = "XKS_REFERENCE_DIR";

/** The settings samples of the reference proxy's configuration/ folder. */
export const REFERENCE_SETTINGS_FILES = [
  "settings.toml",
  "settings_cloudhsm.toml",
  "settings_docker.toml",
  "settings_luna.toml",
  "settings_nshield.toml",
  "settings_softhsmv2.toml",
  "settings_softhsmv2_osx.toml",
] as const;

export interface ReferenceGate {
  /** false when the files are there; otherwise why the compat tests are skipped. */
  skip: string | false;
  /** Absolute path of a file of the reference folder (only meaningful when skip is false). */
  file(rel: string): string;
}

/** The gate for tests that need `files` (paths relative to XKS_REFERENCE_DIR). */
export function referenceGate(files: readonly string[], env: NodeJS.ProcessEnv = process.env): ReferenceGate {
  const raw = env[REFERENCE_ENV];
  const dir = raw ? path.resolve(raw) : "";
  const file = (rel: string) => path.join(dir, rel);
  if (!raw) return { skip: `compatibility suite: set ${REFERENCE_ENV} to a folder with the reference proxy's reference-settings/ and vectors/`, file };
  const missing = files.filter((f) => !fs.existsSync(file(f)));
  if (missing.length > 0) return { skip: `${REFERENCE_ENV}=${dir} lacks ${missing.join(", ")}`, file };
  return { skip: false, file };
}

type Doc = Record<string, any>;

/**
 * Same shape as the reference's settings_docker.toml: SoftHSM library, no TLS, stdout logging, one
 * store with the sample's placeholder credentials. Valid (two placeholder warnings).
 */
export function dockerShapedSettings(): Doc {
  return {
    server: { ip: "0.0.0.0", port: 80, region: "us-east-1", service: "kms-xks-proxy", tcp_keepalive: { tcp_keepalive_secs: 60, tcp_keepalive_retries: 3, tcp_keepalive_interval_secs: 1 } },
    tracing: { is_stdout_writer_enabled: true, is_file_writer_enabled: false, level: "DEBUG" },
    security: { is_sigv4_auth_enabled: true, is_tls_enabled: false, is_mtls_enabled: false },
    external_key_stores: [
      { uri_path_prefix: "/example/uri/path/prefix", sigv4_access_key_id: "BETWEEN2TENAND3TENCHARACTERS", sigv4_secret_access_key: "PleaseReplaceThisWithSomeSecretOfLength43To64", xks_key_id_set: ["foo"] },
    ],
    pkcs11: { session_pool_max_size: 30, session_pool_timeout_milli: 0, session_eager_close: false, user_pin: "1234", PKCS11_HSM_MODULE: "/usr/lib/softhsm/libsofthsm2.so", context_read_timeout_milli: 10 },
    pkcs11_logger: { PKCS11_LOGGER_LIBRARY_PATH: "", PKCS11_LOGGER_LOG_FILE_PATH: "", PKCS11_LOGGER_FLAGS: "0" },
    limits: { max_plaintext_in_base64: 8192, max_aad_in_base64: 16384 },
    hsm_capabilities: { can_generate_iv: false, is_zero_iv_required: false },
  };
}

/**
 * Same shape as the reference's settings_nshield.toml: the nShield PKCS#11 library path, zero-IV
 * capabilities, hourly file logging, an empty [tls], an empty-prefix first store whose SigV4
 * credentials are empty strings (the sample's only two problems) and a second store with the
 * placeholder credentials.
 */
export function nshieldShapedSettings(): Doc {
  const d = dockerShapedSettings();
  d.tracing = { is_stdout_writer_enabled: true, is_file_writer_enabled: true, level: "DEBUG", directory: "/var/local/xks-proxy/logs", file_prefix: "xks-proxy.log", rotation_kind: "HOURLY" };
  d.tls = { tls_cert_pem: "", tls_key_pem: "", mtls_client_ca_pem: "", mtls_client_dns_name: "" };
  d.external_key_stores = [
    { uri_path_prefix: "", sigv4_access_key_id: "", sigv4_secret_access_key: "", xks_key_id_set: ["foo", "cat", "dog"] },
    { ...d.external_key_stores[0], xks_key_id_set: ["foo", "bar"] },
  ];
  d.pkcs11.user_pin = "replaceme";
  d.pkcs11.PKCS11_HSM_MODULE = "/opt/nfast/toolkits/pkcs11/libcknfast.so";
  delete d.pkcs11_logger;
  d.hsm_capabilities = { can_generate_iv: true, is_zero_iv_required: true };
  return d;
}

/** The problems expected of nshieldShapedSettings() and of the reference's settings_nshield.toml. */
export const NSHIELD_SAMPLE_PROBLEMS = [
  'external_key_stores[0].sigv4_access_key_id: expected 20-30 characters of A-Z and 2-7, got "" (empty string)',
  'external_key_stores[0].sigv4_secret_access_key: expected 43-64 characters of a-z A-Z 0-9 / + =, got "" (empty string)',
];
