/** Routing by the last /kms/xks/v1/ in the path, as the reference does. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createRouter } from "../../../src/proxy/router.js";
import type { KeyStoreSettings } from "../../../src/config/types.js";

const store = (p: string) => ({ uri_path_prefix: p, sigv4_access_key_id: "", credentials: [], xks_key_id_set: [], disabled_xks_key_ids: [], allow: [] }) as KeyStoreSettings;
const route = createRouter([store(""), store("/a/b"), store("/x/kms/xks/v1/y")]);

test("the four routes under each prefix", () => {
  assert.deepEqual(route("/kms/xks/v1/health")?.operation, "GetHealthStatus");
  assert.deepEqual(route("/a/b/kms/xks/v1/keys/k.1_-/encrypt")?.keyId, "k.1_-");
  assert.equal(route("/a/b/kms/xks/v1/keys/k/decrypt")?.operation, "Decrypt");
  assert.equal(route("/a/b/kms/xks/v1/keys/k/metadata")?.store.uri_path_prefix, "/a/b");
  assert.equal(route("/x/kms/xks/v1/y/kms/xks/v1/health")?.store.uri_path_prefix, "/x/kms/xks/v1/y");
});

test("anything else is no route (404 InvalidUriPathException)", () => {
  for (const p of ["/", "/a/kms/xks/v1/health", "/a/b/kms/xks/v1/keys//encrypt", "/a/b/kms/xks/v1/keys/k/sign", "/a/b/kms/xks/v1/keys/k/encrypt/x", "/a/b/kms/xks/v2/health", "/a/b/kms/xks/v1/healthz"]) {
    assert.equal(route(p), undefined, p);
  }
});
