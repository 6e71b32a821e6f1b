/** The settings template renderer writes values as TOML that parses back to exactly those values. */
import assert from "node:assert/strict";
import { test } from "node:test";
import TOML from "@iarna/toml";
import { renderSettings } from "../../../src/config/render-settings.js";

const values = {
  ip: "127.0.0.1", port: 8443, port_http_ping: 8080, region: "us-east-1", is_tls_enabled: true, tls_cert_pem: "/tls/chain.pem", tls_key_pem: "/tls/key.pem",
  uri_path_prefix: "", sigv4_access_key_id: "", sigv4_secret_access_key: "", xks_key_id_set: ["k1"], session_pool_max_size: 2, user_pin: "1234",
  PKCS11_HSM_MODULE: "/usr/lib/softhsm/libsofthsm2.so", token_label: "t", can_generate_iv: false, is_zero_iv_required: false,
};

test("a value with a DEL character (which TOML forbids unescaped in a basic string) renders escaped and parses back", () => {
  const label = "a\u007fb \"q\" \\ \u0001";
  const text = renderSettings({ ...values, token_label: label, xks_key_id_set: ["k\u007f1", "k2"] });
  assert.doesNotMatch(text, /\u007f/);
  const doc = TOML.parse(text) as Record<string, any>;
  assert.equal(doc.pkcs11.token_label, label);
  assert.deepEqual(doc.external_key_stores[0].xks_key_id_set, ["k\u007f1", "k2"]);
  assert.equal(doc.server.port, 8443);
  assert.equal(doc.hsm_capabilities.can_generate_iv, false);
});
