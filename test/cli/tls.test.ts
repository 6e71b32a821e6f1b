/**
 * `xksctl tls csr` and `xksctl tls install` (the real binary): a new key (0600) and a CSR for
 * the endpoint; the CA's chain joined into the one file the settings name after the checks, or
 * refused with exit 1 and nothing changed; renewal beside a working pair, then --key.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { renderSettings } from "../../src/config/render-settings.js";
import { parseChain } from "../../src/platform/x509.js";
import { createTestCa, type TestCa } from "../helpers/ca.js";
import { modeOf } from "../helpers/init-machine.js";
import { runBin } from "../helpers/serve-process.js";
import { tempDir } from "../helpers/tmp.js";

let ca: TestCa;
let dir: string;
let settings: string;
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, CI: "1" };
const tls = (f: string) => path.join(dir, "tls", f);

before(() => {
  ca = createTestCa();
  dir = tempDir("xksctl-tls-");
  settings = path.join(dir, "settings.toml");
  fs.writeFileSync(
    settings,
    renderSettings({
      ip: "127.0.0.1", port: 8443, port_http_ping: 8080, region: "us-east-1", is_tls_enabled: true, tls_cert_pem: tls("xks-proxy-chain.pem"), tls_key_pem: tls("xks-proxy.key"),
      uri_path_prefix: "", sigv4_access_key_id: "", sigv4_secret_access_key: "", xks_key_id_set: [], session_pool_max_size: 2, user_pin: "1234",
      PKCS11_HSM_MODULE: "/usr/lib/softhsm/libsofthsm2.so", token_label: "t", can_generate_iv: false, is_zero_iv_required: false,
    }),
    { mode: 0o600 },
  );
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(ca.dir, { recursive: true, force: true });
});

const subjects = (file: string) => parseChain(fs.readFileSync(file, "utf8")).map((c) => c.subject);
const LEAF = "CN=xks.example.com";
const INT = "O=xksctl test, CN=xksctl test intermediate";
const ROOT_CA = "O=xksctl test, CN=xksctl test root";

test("tls csr: needs a name when nothing names one; refuses an IP; then a new key (0600) and a CSR for the endpoint", async () => {
  const none = await runBin(["tls", "csr", "--config", settings], env, 60_000, dir);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /✖ --endpoint is needed: no installed certificate or earlier CSR names the endpoint\./);
  const ip = await runBin(["tls", "csr", "--config", settings, "--endpoint", "10.0.0.1"], env, 60_000, dir);
  assert.equal(ip.code, 2);
  assert.match(ip.stderr, /--endpoint "10\.0\.0\.1" is not usable: it is an IP address/);
  assert.equal(fs.existsSync(tls("xks-proxy.key")), false);

  const r = await runBin(["tls", "csr", "--config", settings, "--endpoint", "xks.example.com"], env, 60_000, dir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(modeOf(tls("xks-proxy.key")), "600");
  const text = execFileSync("openssl", ["req", "-in", tls("xks-proxy.csr"), "-noout", "-text", "-verify"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  assert.match(text, /Subject: CN = xks\.example\.com\n/);
  assert.match(text, /DNS:xks\.example\.com\n/);
  assert.match(r.stdout, new RegExp(`xksctl tls install CHAIN\\.pem --config ${settings}\\n`));
});

test("tls install: a chain for another key, or without its intermediate, is refused (exit 1) and nothing changes", async () => {
  const settingsBefore = fs.readFileSync(settings);
  const other = path.join(dir, "other.pem");
  fs.writeFileSync(other, ca.newLeaf(["xks.example.com"]).certPem + ca.intermediatePem);
  const wrong = await runBin(["tls", "install", other, "--config", settings], env, 60_000, dir);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /✖ The chain does not fit \S+xks-proxy\.key: 1 problem; nothing was changed\.\n {2}key-mismatch: The private key does not belong to the server certificate "xks\.example\.com"/);
  const leafOnly = path.join(dir, "leaf-only.pem");
  fs.writeFileSync(leafOnly, ca.signCsr(tls("xks-proxy.csr")));
  const incomplete = await runBin(["tls", "install", leafOnly, "--config", settings], env, 60_000, dir);
  assert.equal(incomplete.code, 1);
  assert.match(incomplete.stderr, /chain-incomplete: The file holds only the server certificate; its issuer "O=xksctl test, CN=xksctl test intermediate" must follow it/);
  assert.equal(fs.existsSync(tls("xks-proxy-chain.pem")), false);
  assert.deepEqual(fs.readFileSync(settings), settingsBefore);
});

test("tls install: the CA's files in any order are joined leaf first into the file the settings name", async () => {
  const settingsBefore = fs.readFileSync(settings);
  const leaf = path.join(dir, "leaf.pem");
  const bundle = path.join(dir, "bundle.pem");
  fs.writeFileSync(leaf, ca.signCsr(tls("xks-proxy.csr")));
  fs.writeFileSync(bundle, ca.rootPem + ca.intermediatePem);
  const r = await runBin(["tls", "install", bundle, "--ca-bundle", leaf, "--config", settings], env, 60_000, dir);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(subjects(tls("xks-proxy-chain.pem")), [LEAF, INT, ROOT_CA]);
  assert.equal(modeOf(tls("xks-proxy-chain.pem")), "644");
  assert.match(r.stdout, /covers xks\.example\.com \(from the csr\)/);
  assert.deepEqual(fs.readFileSync(settings), settingsBefore, "the settings are not touched");
});

test("renewal: tls csr beside a working pair stages a new key; tls install --key puts it in place (backup 0600)", async () => {
  const oldKey = fs.readFileSync(tls("xks-proxy.key"), "utf8");
  const r = await runBin(["tls", "csr", "--config", settings], env, 60_000, dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /CSR \S+xks-proxy\.next\.csr for xks\.example\.com/, "the name comes from the installed certificate");
  assert.equal(fs.readFileSync(tls("xks-proxy.key"), "utf8"), oldKey, "the working key stays");
  assert.equal(modeOf(tls("xks-proxy.next.key")), "600");
  const chain = path.join(dir, "renewed.pem");
  fs.writeFileSync(chain, ca.signCsr(tls("xks-proxy.next.csr")) + ca.intermediatePem);
  const plain = await runBin(["tls", "install", chain, "--config", settings], env, 60_000, dir);
  assert.equal(plain.code, 1, "without --key it does not fit the current key");
  const inst = await runBin(["tls", "install", chain, "--key", tls("xks-proxy.next.key"), "--config", settings], env, 60_000, dir);
  assert.equal(inst.code, 0, inst.stderr);
  assert.equal(fs.readFileSync(tls("xks-proxy.key"), "utf8"), fs.readFileSync(tls("xks-proxy.next.key"), "utf8"));
  assert.equal(fs.readFileSync(tls("xks-proxy.key.bak"), "utf8"), oldKey);
  assert.equal(modeOf(tls("xks-proxy.key.bak")), "600");
  assert.deepEqual(subjects(tls("xks-proxy-chain.pem")), [LEAF, INT]);
  assert.deepEqual(subjects(tls("xks-proxy-chain.pem.bak")), [LEAF, INT, ROOT_CA]);
});
