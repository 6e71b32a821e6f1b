/** Builds settings TOML files for tests from a JS object (reference schema keys). */
import fs from "node:fs";
import path from "node:path";
import TOML from "@iarna/toml";

/** Test credentials in KMS's formats (secret lengths 43, 44 and 64 are all exercised). */
export const CREDS = {
  main: { id: "AKIAXKSCTLTESTMAINKEY2", secret: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" }, // 43
  rotated: { id: "AKIAXKSCTLTESTROTATED3", secret: "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5Kw==".slice(0, 44) }, // 44
  other: { id: "OTHERSTOREACCESSKEY234", secret: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/" }, // 64
};

export const PREFIX = "/test/uri/prefix";

type Obj = Record<string, unknown>;

/** The default test settings; `patch` is deep-merged over it (arrays replace). */
export function testSettings(opts: { module: string; tokenLabel: string; pin: string; cert?: string; key?: string }, patch: Obj = {}): Obj {
  const base: Obj = {
    // One process unless a test asks for workers (test/cli/serve-workers.test.ts covers the default).
    // Admission by event-loop delay at 1 s, not 40 ms: on a loaded 2-core machine a test process
    // (client and proxy in one loop) is sometimes preempted for longer than 40 ms, and a single
    // request then got 429. Likewise the service time at 10 s, not 100 ms: the slow-HSM tests queue
    // requests for sessions on purpose. The admission rules have their own tests (front-door-units.test.ts).
    server: { ip: "127.0.0.1", port: 0, port_http_ping: 0, region: "us-east-1", service: "kms-xks-proxy", ciphertext_metadata_b64: "djAuMC4x", tcp_keepalive: { tcp_keepalive_secs: 60 }, workers: 1, max_event_loop_delay_milli: 1000, max_service_time_milli: 10000 },
    tracing: { is_stdout_writer_enabled: true, is_file_writer_enabled: false, level: "INFO" },
    security: { is_sigv4_auth_enabled: true, is_tls_enabled: Boolean(opts.cert), is_mtls_enabled: false },
    ...(opts.cert ? { tls: { tls_cert_pem: opts.cert, tls_key_pem: opts.key } } : {}),
    external_key_stores: [
      {
        uri_path_prefix: PREFIX,
        sigv4_access_key_id: CREDS.main.id,
        sigv4_secret_access_key: CREDS.main.secret,
        xks_key_id_set: ["foo", "enc-only", "dec-only", "xks-vector-key", "disabled-key", "not-in-hsm"],
        disabled_xks_key_ids: ["disabled-key"],
        sigv4_additional_credentials: [{ sigv4_access_key_id: CREDS.rotated.id, sigv4_secret_access_key: CREDS.rotated.secret }],
      },
      { uri_path_prefix: "", sigv4_access_key_id: CREDS.other.id, sigv4_secret_access_key: CREDS.other.secret, xks_key_id_set: ["foo"] },
    ],
    pkcs11: {
      session_pool_max_size: 8,
      session_pool_timeout_milli: 0,
      session_eager_close: false,
      user_pin: opts.pin,
      PKCS11_HSM_MODULE: opts.module,
      context_read_timeout_milli: 10,
      token_label: opts.tokenLabel,
    },
    limits: { max_plaintext_in_base64: 8192, max_aad_in_base64: 16384 },
    hsm_capabilities: { can_generate_iv: false, is_zero_iv_required: false },
  };
  return merge(base, patch);
}

function merge(a: Obj, b: Obj): Obj {
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v && typeof v === "object" && !Array.isArray(v) && cur && typeof cur === "object" && !Array.isArray(cur) ? merge(cur as Obj, v as Obj) : v;
  }
  return out;
}

/** Writes settings to `<dir>/settings.toml` and returns the path. */
export function writeSettings(dir: string, settings: Obj, name = "settings.toml"): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, TOML.stringify(settings as TOML.JsonMap), { mode: 0o600 });
  return file;
}
