/**
 * An in-process proxy on a private SoftHSM token for integration tests: token with the test
 * keys, generated TLS files, a settings file, the real HSM layer and server on 127.0.0.1:0.
 */
import fs from "node:fs";
import { loadSettings, defaultValidateDeps } from "../../src/config/load.js";
import type { Settings } from "../../src/config/types.js";
import { openHsm } from "../../src/workflows/open-hsm.js";
import type { Hsm } from "../../src/hsm/types.js";
import { createLogger, hsmEventLogger } from "../../src/proxy/log.js";
import { createProxyServer, type ProxyServer } from "../../src/proxy/server.js";
import { addKeys, createTestToken, SOFTHSM_LIB, type TestToken } from "./softhsm.js";
import { testSettings, writeSettings } from "./settings.js";
import { createTestPki, type TestPki } from "./tls.js";

/** The project's AES-GCM vectors for the reference proxy's HSM AAD layout (scripts/gen-aad-vectors.ts). */
export const VECTORS = JSON.parse(fs.readFileSync(new URL("../fixtures/vectors/aes-gcm-aad.json", import.meta.url), "utf8")) as {
  keyLabel: string;
  keyHex: string;
  vectors: Record<string, string | null>[];
};

/** A running test proxy. */
export interface TestProxy {
  url: string;
  port: number;
  settings: Settings;
  token: TestToken;
  pki: TestPki;
  hsm: Hsm;
  server: ProxyServer;
  /** Every log line written, parsed. */
  logs: Record<string, unknown>[];
  /** The raw log text. */
  rawLog: () => string;
  close(): Promise<void>;
}

/** Creates the token with the standard test keys. */
export function createStandardToken(): TestToken {
  const token = createTestToken("xks-test");
  addKeys(token, [
    { label: "foo" },
    { label: "enc-only", decrypt: false },
    { label: "dec-only", encrypt: false },
    { label: VECTORS.keyLabel, value: Buffer.from(VECTORS.keyHex, "hex") },
    { label: "disabled-key" },
  ]);
  return token;
}

/** Starts a proxy. `patch` adjusts the default test settings. */
export async function startTestProxy(
  opts: { patch?: Record<string, unknown>; token?: TestToken; pki?: TestPki; module?: string; now?: () => number; tls?: boolean } = {},
): Promise<TestProxy> {
  const token = opts.token ?? createStandardToken();
  const pki = opts.pki ?? createTestPki();
  const tlsOn = opts.tls ?? true;
  const file = writeSettings(
    token.dir,
    testSettings({ module: opts.module ?? SOFTHSM_LIB, tokenLabel: token.label, pin: token.pin, ...(tlsOn ? { cert: pki.serverCert, key: pki.serverKey } : {}) }, opts.patch),
  );
  const { settings } = loadSettings(file, defaultValidateDeps({}));
  let raw = "";
  const logger = createLogger(settings.tracing, { write: (s) => void (raw += s) });
  const hsm = await openHsm(settings, { onEvent: hsmEventLogger(logger) });
  const server = createProxyServer(settings, { hsm, logger, now: opts.now ?? Date.now });
  const { port } = await server.listen();
  return {
    url: `${tlsOn ? "https" : "http"}://localhost:${port}`,
    port,
    settings,
    token,
    pki,
    hsm,
    server,
    get logs() {
      return raw.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    rawLog: () => raw,
    async close() {
      await server.close(1000);
      await hsm.close();
    },
  };
}

/** A KMS-shaped requestMetadata. */
export function md(op = "Encrypt", extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    awsPrincipalArn: "arn:aws:iam::123456789012:user/Alice",
    kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    kmsOperation: op,
    kmsRequestId: `req-${Math.random().toString(36).slice(2)}`,
    ...extra,
  };
}

/** Path of a key operation under the test prefix. */
export function keyPath(prefix: string, keyId: string, op: "encrypt" | "decrypt" | "metadata"): string {
  return `${prefix}/kms/xks/v1/keys/${keyId}/${op}`;
}

