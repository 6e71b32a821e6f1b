/**
 * Transport: TLS versions and suites, ALPN, mTLS with the configured CA and DNS name, plain
 * HTTP when is_tls_enabled = false, and the separate plain-HTTP ping port.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";
import { Agent } from "undici";
import { createStandardToken, keyPath, md, startTestProxy, type TestProxy } from "../helpers/proxy.js";
import { freePort } from "../helpers/port.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { curlPost, send, smithyPost } from "../helpers/sign.js";
import { removeTestToken, type TestToken } from "../helpers/softhsm.js";
import { MTLS_DNS_NAME, createTestPki, type TestPki } from "../helpers/tls.js";

let token: TestToken;
let pki: TestPki;
const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };
const encBody = () => ({ requestMetadata: md(), plaintext: "AAAA", encryptionAlgorithm: "AES_GCM" });

before(() => {
  token = createStandardToken();
  pki = createTestPki();
});

after(() => {
  if (token) removeTestToken(token);
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

function handshake(port: number, opts: tls.ConnectionOptions): Promise<{ protocol: string | null; cipher: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: readFileSync(pki.caCert), ...opts }, () => {
      const r = { protocol: s.getProtocol(), cipher: s.getCipher().standardName, alpn: s.alpnProtocol };
      s.end();
      resolve(r);
    });
    s.on("error", reject);
  });
}

describe("TLS", () => {
  let proxy: TestProxy;
  before(async () => (proxy = await startTestProxy({ token, pki })));
  after(() => proxy.close());

  test("offers h2 and http/1.1 by ALPN", async () => {
    assert.equal((await handshake(proxy.port, { ALPNProtocols: ["h2", "http/1.1"] })).alpn, "h2");
    assert.equal((await handshake(proxy.port, { ALPNProtocols: ["http/1.1"] })).alpn, "http/1.1");
  });
  test("TLS 1.3 with TLS_AES_256_GCM_SHA384 and TLS 1.2 with ECDHE-ECDSA-AES256-GCM-SHA384 (spec suites)", async () => {
    const t13 = await handshake(proxy.port, { minVersion: "TLSv1.3", ciphersuites: "TLS_AES_256_GCM_SHA384" } as tls.ConnectionOptions);
    assert.equal(t13.protocol, "TLSv1.3");
    assert.equal(t13.cipher, "TLS_AES_256_GCM_SHA384");
    const t12 = await handshake(proxy.port, { maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384" });
    assert.equal(t12.protocol, "TLSv1.2");
    assert.equal(t12.cipher, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
  });
  test("TLS 1.1 and non-AEAD TLS 1.2 suites are refused", async () => {
    await assert.rejects(handshake(proxy.port, { maxVersion: "TLSv1.1", minVersion: "TLSv1", ciphers: "DEFAULT@SECLEVEL=0" }));
    await assert.rejects(handshake(proxy.port, { maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES256-SHA384" }));
  });
  test("a TLS 1.2 client's renegotiation is refused (KMS never renegotiates; each one is a full handshake)", async () => {
    // The server's answer is a no_renegotiation alert, which the client reports as this error.
    const outcome = await new Promise<string>((settle) => {
      const resolve = (what: string) => {
        s.destroy();
        settle(what);
      };
      const s = tls.connect({ host: "127.0.0.1", port: proxy.port, servername: "localhost", ca: readFileSync(pki.caCert), maxVersion: "TLSv1.2", ALPNProtocols: ["http/1.1"] }, () => {
        s.renegotiate({}, (err) => resolve(err ? `refused: ${(err as NodeJS.ErrnoException).code}` : "renegotiated"));
      });
      s.on("error", (err: NodeJS.ErrnoException) => resolve(`refused: ${err.code}`));
    });
    assert.equal(outcome, "refused: ERR_SSL_NO_RENEGOTIATION");
  });
  test("GET /ping on the main port needs no signature", async () => {
    const agent = new Agent({ allowH2: true, connect: { ca: readFileSync(pki.caCert) } });
    const r = await send(`${proxy.url}/ping`, "GET", {}, undefined, agent);
    await agent.close();
    assert.equal(r.status, 200);
    assert.match(r.text, /^pong from xksctl v\d+\.\d+\.\d+\n$/);
  });
});

describe("mTLS", () => {
  let proxy: TestProxy;
  before(async () => {
    proxy = await startTestProxy({
      token,
      pki,
      patch: { security: { is_mtls_enabled: true }, tls: { mtls_client_ca_pem: pki.caCert, mtls_client_dns_name: MTLS_DNS_NAME } },
    });
  });
  after(() => proxy.close());

  const withClient = (cert?: string, key?: string) => new Agent({ allowH2: true, connect: { ca: readFileSync(pki.caCert), ...(cert ? { cert: readFileSync(cert), key: readFileSync(key!) } : {}) } });

  test("a client certificate for the configured DNS name from the configured CA is served", async () => {
    const agent = withClient(pki.clientCert, pki.clientKey);
    const r = await smithyPost(`${proxy.url}${keyPath(PREFIX, "foo", "encrypt")}`, encBody(), agent, main);
    await agent.close();
    assert.equal(r.status, 200, r.text);
  });
  test("no client certificate: the connection is refused", async () => {
    const agent = withClient();
    await assert.rejects(smithyPost(`${proxy.url}${keyPath(PREFIX, "foo", "encrypt")}`, encBody(), agent, main));
    await agent.close();
  });
  test("a certificate for another DNS name: the connection is refused and logged", async () => {
    const agent = withClient(pki.wrongClientCert, pki.wrongClientKey);
    await assert.rejects(smithyPost(`${proxy.url}${keyPath(PREFIX, "foo", "encrypt")}`, encBody(), agent, main));
    await agent.close();
    assert.ok(proxy.logs.some((l) => l.msg === "mTLS client certificate rejected"));
  });
});

describe("plain HTTP (is_tls_enabled = false) and the ping port", () => {
  let proxy: TestProxy;
  let pingPort: number;
  before(async () => {
    pingPort = await freePort();
    proxy = await startTestProxy({ token, pki, tls: false, patch: { server: { port_http_ping: pingPort } } });
  });
  after(() => proxy.close());

  test("signed requests work over plain HTTP/1.1 (curl --aws-sigv4)", async () => {
    const r = await curlPost(`${proxy.url}${keyPath(PREFIX, "foo", "encrypt")}`, encBody(), { ...main, http: "1.1" });
    assert.equal(r.status, 200, r.text);
  });
  test("port_http_ping serves only GET /ping", async () => {
    const out = await new Promise<string>((resolve) => execFile("curl", ["-sS", "-w", " %{http_code}", `http://127.0.0.1:${pingPort}/ping`], (_e, so) => resolve(so)));
    assert.match(out, /^pong from xksctl v[\d.]+\n 200$/);
    const other = await new Promise<string>((resolve) => execFile("curl", ["-sS", "-w", " %{http_code}", `http://127.0.0.1:${pingPort}${PREFIX}/kms/xks/v1/health`], (_e, so) => resolve(so)));
    assert.match(other, /"errorName":"InvalidUriPathException".* 404$/);
  });
});
