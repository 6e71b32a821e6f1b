/**
 * The settings schema: every key of the reference proxy's TOML (aws-samples/aws-kms-xks-proxy,
 * src/settings.rs) plus xksctl's optional extensions, with types, defaults and descriptions.
 * The reference ignores keys it does not know, so a file using our extensions still loads there.
 */

/** The value kinds a key may hold. */
export type FieldType =
  | { kind: "string"; nonEmpty?: boolean; pattern?: RegExp; expected?: string; oneOf?: readonly string[]; ignoreCase?: boolean }
  | { kind: "int"; min: number; max: number }
  | { kind: "bool" }
  | { kind: "stringArray" }
  /** Array of inline tables holding extra SigV4 credentials (rotation). */
  | { kind: "credentialArray" }
  /** Array of tables: secondary authorization rules of a key store. */
  | { kind: "allowArray" };

/** One key of a table. */
export interface FieldSpec {
  name: string;
  type: FieldType;
  /** Required by the reference proxy (its deserialiser fails without it). */
  required: boolean;
  /** Value used when the key is absent (undefined: stays absent). */
  default?: unknown;
  /** Holds a secret: never printed by `config validate` or logs. */
  secret?: boolean;
  /** An xksctl extension (ignored by the reference proxy). */
  extension?: boolean;
  description: string;
}

/** One table: its path and keys. `required` tables must be present in the file. */
export interface TableSpec {
  path: string;
  required: boolean;
  array?: boolean;
  fields: readonly FieldSpec[];
}

/** 0 binds any free port (used by tests). */
const port = { kind: "int", min: 0, max: 65535 } as const;
const uint = { kind: "int", min: 0, max: 2 ** 31 - 1 } as const;
const bool = { kind: "bool" } as const;
const str = { kind: "string" } as const;

/** Every table of the settings file, in file order. */
export const SCHEMA: readonly TableSpec[] = [
  {
    path: "server",
    required: true,
    fields: [
      { name: "ip", type: { kind: "string", nonEmpty: true, expected: "an IP address" }, required: true, description: "Bind address (an IP literal)." },
      { name: "port", type: port, required: true, description: "Main XKS listener port." },
      { name: "port_http_ping", type: port, required: false, default: 80, description: "Plain-HTTP port serving only GET /ping; no second listener when equal to port." },
      { name: "region", type: { kind: "string", nonEmpty: true }, required: true, description: "The AWS region accepted in the SigV4 credential scope." },
      { name: "service", type: { kind: "string", nonEmpty: true }, required: true, description: "SigV4 service name (kms-xks-proxy)." },
      { name: "ciphertext_metadata_b64", type: str, required: false, description: "Base64 of at most 20 bytes returned as ciphertextMetadata on every Encrypt." },
      { name: "fleet_size", type: { kind: "int", min: 1, max: 1000 }, required: false, default: 1, extension: true, description: "xksProxyFleetSize reported by GetHealthStatus: proxies behind this endpoint." },
      { name: "workers", type: { kind: "int", min: 1, max: 256 }, required: false, extension: true, description: "Worker processes of `serve` (default: one per available CPU; 1 = a single process). The session pool is split between them, at most session_pool_max_size pooled sessions in all; each process also keeps a login session and a health-check session." },
      { name: "tls_handshake_timeout_milli", type: { kind: "int", min: 100, max: 120000 }, required: false, default: 3000, extension: true, description: "A TLS handshake not finished within this time is dropped (KMS finishes TCP, TLS and its request within 250 ms)." },
      { name: "headers_timeout_milli", type: { kind: "int", min: 100, max: 120000 }, required: false, default: 3000, extension: true, description: "Max time for a request's headers: over HTTP/1.1 from its first byte, over HTTP/2 until a new connection opens its first stream. Then the connection is closed." },
      { name: "body_timeout_milli", type: { kind: "int", min: 100, max: 120000 }, required: false, default: 2000, extension: true, description: "Max time to receive a request body after its headers; then 400 ValidationException and the stream (HTTP/2) or connection (HTTP/1.1) is closed." },
      { name: "idle_timeout_milli", type: { kind: "int", min: 1000, max: 3600000 }, required: false, default: 120000, extension: true, description: "A connection with no traffic for this long is closed (HTTP/2: GOAWAY). KMS keeps its connections busy; an idle one costs one new handshake." },
      { name: "max_connections", type: { kind: "int", min: 1, max: 100000 }, required: false, default: 1024, extension: true, description: "Open connections on the main port; a connection over it is closed at once. Keep below the process's file limit (systemd LimitNOFILE)." },
      { name: "max_concurrent_streams", type: { kind: "int", min: 1, max: 1000 }, required: false, default: 100, extension: true, description: "HTTP/2 requests in flight per connection (SETTINGS_MAX_CONCURRENT_STREAMS); KMS spreads its load over many connections." },
      { name: "max_in_flight_requests", type: { kind: "int", min: 1, max: 100000 }, required: false, default: 256, extension: true, description: "Admission control: XKS requests being served at once; one over it gets 429 ThrottlingException before its body is read or its signature checked. /ping is not counted." },
      { name: "max_event_loop_delay_milli", type: { kind: "int", min: 1, max: 10000 }, required: false, default: 40, extension: true, description: "Admission control: while the event loop is this far behind, new XKS requests get 429 ThrottlingException at once, then the cap on admitted requests starts at one per HSM session and doubles at most every 200 ms, while at least half of it is in use (see max_service_time_milli); so that answers under a flood are 200 or 429, aiming for KMS's 250 ms (docs/performance.md: not yet met on a 2-core host). A pause of the loop (longer than 20 ms with no request, answer or run of its 10 ms lag timer in it: a garbage-collection pause, a stalled host) is not counted, nor is it taken for a flood when its backlog is read." },
      { name: "max_service_time_milli", type: { kind: "int", min: 1, max: 60000 }, required: false, default: 100, extension: true, description: "Admission control: an XKS request that takes longer than this from its body read to its answer (waiting for an HSM session included) makes the cap on admitted requests start again at one per HSM session; it doubles at most every 200 ms, only while the answers of the last 200 ms took on average at most half of this (none over it) and at least half of the cap is in use (an unused cap stays, so a short quiet spell does not reopen the door for the next flood, and is lifted 10 s after the last congestion); so requests do not queue for sessions past KMS's 250 ms. A pause of the whole event loop (as for max_event_loop_delay_milli) does not count in the service time." },
    ],
  },
  {
    path: "server.tcp_keepalive",
    required: true,
    fields: [
      { name: "tcp_keepalive_secs", type: uint, required: false, description: "Idle seconds before the first keepalive probe; absent = keepalive off." },
      { name: "tcp_keepalive_interval_secs", type: uint, required: false, description: "Seconds between unanswered probes. Read but not applied: Node.js 20 cannot set it per socket, so the OS default (net.ipv4.tcp_keepalive_intvl) applies." },
      { name: "tcp_keepalive_retries", type: uint, required: false, description: "Probes before the peer is declared dead. Read but not applied: Node.js 20 cannot set it per socket, so the OS default (net.ipv4.tcp_keepalive_probes) applies." },
    ],
  },
  {
    path: "tracing",
    required: true,
    fields: [
      { name: "is_stdout_writer_enabled", type: bool, required: true, description: "Log to stdout." },
      { name: "is_file_writer_enabled", type: bool, required: true, description: "Log to rotated files in directory." },
      { name: "level", type: { kind: "string", oneOf: ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"], ignoreCase: true }, required: false, description: "Log level; needed when a writer is on." },
      { name: "directory", type: str, required: false, description: "Log directory (file writer)." },
      { name: "file_prefix", type: str, required: false, description: "Log file name prefix (file writer)." },
      { name: "rotation_kind", type: { kind: "string", oneOf: ["MINUTELY", "HOURLY", "DAILY", "NEVER"], ignoreCase: true }, required: false, description: "File rotation." },
      { name: "retention_max_files", type: { kind: "int", min: 0, max: 100000 }, required: false, default: 24, extension: true, description: "Rotated log files kept in directory, the current one included (the reference's cleanup timer keeps 24); older ones are deleted at start and at each rotation. 0 = no limit." },
      { name: "retention_max_age_hours", type: { kind: "int", min: 0, max: 87600 }, required: false, default: 0, extension: true, description: "Rotated log files older than this many hours are deleted (at start and at each rotation); 0 = no age limit." },
    ],
  },
  {
    path: "security",
    required: true,
    fields: [
      { name: "is_sigv4_auth_enabled", type: bool, required: true, description: "Verify SigV4 on every XKS route (must be true in production)." },
      { name: "is_tls_enabled", type: bool, required: true, description: "Serve the main port over TLS." },
      { name: "is_mtls_enabled", type: bool, required: true, description: "Require client certificates." },
      { name: "secondary_auth", type: { kind: "string", oneOf: ["Oso"] }, required: false, description: "Secondary authorization engine (reference: Oso)." },
    ],
  },
  {
    path: "security.oso",
    required: false,
    fields: [{ name: "polar_file_path", type: str, required: true, description: "Oso policy file." }],
  },
  {
    path: "tls",
    required: false,
    fields: [
      { name: "tls_cert_pem", type: str, required: true, description: "PEM certificate chain." },
      { name: "tls_key_pem", type: str, required: true, description: "PEM private key (PKCS#1, PKCS#8 or SEC1)." },
      { name: "mtls_client_ca_pem", type: str, required: false, description: "PEM bundle of client CA roots (mTLS)." },
      { name: "mtls_client_dns_name", type: str, required: false, description: "DNS name the client certificate must carry (mTLS)." },
    ],
  },
  {
    path: "external_key_stores",
    required: true,
    array: true,
    fields: [
      { name: "uri_path_prefix", type: str, required: true, description: "Path prefix of this logical key store (\"\" or /a/b)." },
      { name: "sigv4_access_key_id", type: str, required: true, description: "SigV4 access key id for this prefix." },
      { name: "sigv4_secret_access_key", type: str, required: false, secret: true, description: "SigV4 secret (or use _file / _env)." },
      { name: "sigv4_secret_access_key_file", type: str, required: false, extension: true, description: "Read the SigV4 secret from this file (mode 0600); relative to the settings file's folder, or $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=)." },
      { name: "sigv4_secret_access_key_env", type: str, required: false, extension: true, description: "Read the SigV4 secret from this environment variable." },
      { name: "xks_key_id_set", type: { kind: "stringArray" }, required: true, description: "External key ids served here; each is a CKA_LABEL on the token." },
      { name: "disabled_xks_key_ids", type: { kind: "stringArray" }, required: false, default: [], extension: true, description: "Key ids reported DISABLED: GetKeyMetadata says so, Encrypt/Decrypt answer InvalidStateException." },
      { name: "allow", type: { kind: "allowArray" }, required: false, default: [], extension: true, description: "Secondary authorization beyond SigV4: [[external_key_stores.allow]] rules, each naming some of principal (awsPrincipalArn), operations (kmsOperation, a list), kms_key_arn, source_vpc, source_vpce, via_service (kmsViaService); `*` matches any run of characters. With rules, a request passes when one rule matches every field it names, else 403 AccessDeniedException; GetHealthStatus is never denied. No rules: SigV4 alone." },
      { name: "sigv4_additional_credentials", type: { kind: "credentialArray" }, required: false, extension: true, description: "Extra credentials accepted during rotation (`xksctl creds rotate` / `creds retire`): [{ sigv4_access_key_id, sigv4_secret_access_key | _file | _env }]." },
    ],
  },
  {
    path: "pkcs11",
    required: true,
    fields: [
      { name: "session_pool_max_size", type: { kind: "int", min: 1, max: 1024 }, required: true, description: "PKCS#11 sessions kept open." },
      { name: "session_pool_timeout_milli", type: uint, required: true, description: "Reference key (no effect there); xksctl: max wait for a session, 0 = use session_wait_milli." },
      { name: "session_eager_close", type: bool, required: true, description: "Close the session after every request (testing only)." },
      { name: "user_pin", type: str, required: false, secret: true, description: "CKU_USER PIN (or use user_pin_file / user_pin_env)." },
      { name: "user_pin_file", type: str, required: false, extension: true, description: "Read the PIN from this file (mode 0600); relative to the settings file's folder, or $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=)." },
      { name: "user_pin_env", type: str, required: false, extension: true, description: "Read the PIN from this environment variable." },
      { name: "PKCS11_HSM_MODULE", type: { kind: "string", nonEmpty: true }, required: true, description: "PKCS#11 library path; the PKCS11_HSM_MODULE variable overrides it." },
      { name: "context_read_timeout_milli", type: uint, required: true, description: "Reference key: wait for the PKCS#11 context lock during a reset." },
      { name: "token_label", type: str, required: false, extension: true, description: "Use the token with this label (default: the first token present)." },
      { name: "softhsm2_conf", type: { kind: "string", nonEmpty: true }, required: false, extension: true, description: "SoftHSM2 only: the softhsm2.conf of the token (relative to this file), set as SOFTHSM2_CONF before the library loads; written by `xksctl init --backend softhsm`." },
      { name: "operation_timeout_milli", type: { kind: "int", min: 0, max: 60000 }, required: false, default: 1000, extension: true, description: "Max time for one HSM operation before 503 DependencyTimeoutException; 0 = no limit." },
      { name: "open_timeout_milli", type: { kind: "int", min: 1000, max: 600000 }, required: false, default: 60000, extension: true, description: "Max time for opening the HSM at start-up (load the library, log in, open the session pool); then serve exits 1 (a worker: it is replaced) instead of waiting forever on an HSM that does not answer." },
      { name: "reset_wait_milli", type: { kind: "int", min: 100, max: 600000 }, required: false, default: 10000, extension: true, description: "After a device error, how long the re-initialisation of the PKCS#11 library waits for calls still inside it (C_Finalize under a running call is undefined); then serve exits 1 so that systemd restarts it with a fresh library (a worker: it is replaced)." },
      { name: "session_wait_milli", type: { kind: "int", min: 1, max: 60000 }, required: false, default: 200, extension: true, description: "Max wait for a free session before 429 ThrottlingException (KMS gives up after 250 ms)." },
      { name: "health_check_interval_milli", type: { kind: "int", min: 10, max: 50000 }, required: false, default: 10000, extension: true, description: "How often the background deep health check (encrypt + decrypt with a session key, on its own session) runs while the HSM is ACTIVE; while it is not, every 2 s or this interval if shorter. KMS's GetHealthStatus is answered from the last result." },
    ],
  },
  {
    path: "pkcs11_logger",
    required: false,
    fields: [
      { name: "PKCS11_LOGGER_LIBRARY_PATH", type: str, required: true, description: "The real PKCS#11 library behind pkcs11-logger." },
      { name: "PKCS11_LOGGER_LOG_FILE_PATH", type: str, required: true, description: "pkcs11-logger's log file." },
      { name: "PKCS11_LOGGER_FLAGS", type: str, required: true, description: "pkcs11-logger flag bit mask." },
    ],
  },
  {
    path: "limits",
    required: true,
    fields: [
      { name: "max_plaintext_in_base64", type: { kind: "int", min: 5736, max: 65536 }, required: true, description: "Max Base64 length of Encrypt plaintext (spec minimum 5736); above → 501." },
      { name: "max_aad_in_base64", type: { kind: "int", min: 10924, max: 65536 }, required: true, description: "Max Base64 length of AAD (spec minimum 10924); above → 501." },
    ],
  },
  {
    path: "metrics",
    required: false,
    fields: [
      { name: "is_enabled", type: bool, required: false, default: false, extension: true, description: "Serve Prometheus metrics (GET /metrics, plain HTTP) on a listener of their own." },
      { name: "ip", type: { kind: "string", nonEmpty: true, expected: "an IP address" }, required: false, default: "127.0.0.1", extension: true, description: "Bind address of the metrics listener (loopback by default: put a scraper or a proxy beside it)." },
      { name: "port", type: port, required: false, default: 9464, extension: true, description: "Port of the metrics listener." },
    ],
  },
  {
    path: "hsm_capabilities",
    required: true,
    fields: [
      { name: "can_generate_iv", type: bool, required: true, description: "The HSM makes the GCM IV itself." },
      { name: "is_zero_iv_required", type: bool, required: true, description: "The HSM overwrites a 12-byte zero IV (nShield, CloudHSM); false with can_generate_iv: IV appended (Luna)." },
    ],
  },
];
