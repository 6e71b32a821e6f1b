/** The validated settings, keys named exactly as in the TOML file. Secrets are resolved. */

/** One SigV4 credential accepted for a key store. */
export interface Credential {
  accessKeyId: string;
  secretAccessKey: string;
}

/** One `[[external_key_stores]]` entry. */
export interface KeyStoreSettings {
  uri_path_prefix: string;
  sigv4_access_key_id: string;
  /** All credentials accepted for this prefix: the main one first (rotation adds more). */
  credentials: Credential[];
  xks_key_id_set: string[];
  /** Extension: ids in the set that are reported DISABLED. */
  disabled_xks_key_ids: string[];
  /** Extension: secondary authorization rules (none: SigV4 alone). */
  allow: AllowRule[];
}

/** One [[external_key_stores.allow]] rule: every field it names must match (`*` wildcards). */
export interface AllowRule {
  principal?: string;
  operations?: string[];
  kms_key_arn?: string;
  source_vpc?: string;
  source_vpce?: string;
  via_service?: string;
}

/** The whole settings file after validation. */
export interface Settings {
  /** Absolute path of the file the settings came from. */
  file: string;
  server: {
    ip: string;
    port: number;
    port_http_ping: number;
    region: string;
    service: string;
    ciphertext_metadata_b64?: string;
    fleet_size: number;
    /** Worker processes; undefined = one per available CPU. */
    workers?: number;
    tls_handshake_timeout_milli: number;
    headers_timeout_milli: number;
    body_timeout_milli: number;
    idle_timeout_milli: number;
    max_connections: number;
    max_concurrent_streams: number;
    max_in_flight_requests: number;
    max_event_loop_delay_milli: number;
    max_service_time_milli: number;
    tcp_keepalive: { tcp_keepalive_secs?: number; tcp_keepalive_interval_secs?: number; tcp_keepalive_retries?: number };
  };
  tracing: {
    is_stdout_writer_enabled: boolean;
    is_file_writer_enabled: boolean;
    level: "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR";
    directory?: string;
    file_prefix?: string;
    rotation_kind?: "MINUTELY" | "HOURLY" | "DAILY" | "NEVER";
    retention_max_files: number;
    retention_max_age_hours: number;
  };
  security: {
    is_sigv4_auth_enabled: boolean;
    is_tls_enabled: boolean;
    is_mtls_enabled: boolean;
    secondary_auth?: string;
  };
  tls?: { tls_cert_pem: string; tls_key_pem: string; mtls_client_ca_pem?: string; mtls_client_dns_name?: string };
  external_key_stores: KeyStoreSettings[];
  pkcs11: {
    session_pool_max_size: number;
    session_pool_timeout_milli: number;
    session_eager_close: boolean;
    user_pin: string;
    PKCS11_HSM_MODULE: string;
    context_read_timeout_milli: number;
    token_label?: string;
    session_wait_milli: number;
    operation_timeout_milli: number;
    open_timeout_milli: number;
    reset_wait_milli: number;
    health_check_interval_milli: number;
    /** SoftHSM2 only: the softhsm2.conf of the token (relative to the settings file). */
    softhsm2_conf?: string;
  };
  pkcs11_logger?: { PKCS11_LOGGER_LIBRARY_PATH: string; PKCS11_LOGGER_LOG_FILE_PATH: string; PKCS11_LOGGER_FLAGS: string };
  limits: { max_plaintext_in_base64: number; max_aad_in_base64: number };
  /** Prometheus metrics listener (xksctl extension); absent = off. */
  metrics?: { is_enabled: boolean; ip: string; port: number };
  hsm_capabilities: { can_generate_iv: boolean; is_zero_iv_required: boolean };
}
