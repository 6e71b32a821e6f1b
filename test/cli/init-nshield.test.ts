/**
 * `xksctl init` on a stand-in nShield client, scripted (no questions): every branch (module and
 * OCS, existing and new card set, new and existing key, certificate and CSR, --answers, re-runs)
 * and every nShield failure the verbs know, with its message and exit code. Full setups run the
 * real binary (the PKCS#11 round trip loads the library in that process); failures that stop
 * before the round trip run in-process, where the tool runner can be wrapped.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import TOML from "@iarna/toml";
import { checkSettingsFile, defaultValidateDeps } from "../../src/config/load.js";
import { createExec } from "../../src/platform/exec.js";
import { endpointNameProblem } from "../../src/platform/x509.js";
import { createTestCa, type TestCa } from "../helpers/ca.js";
import { bareNshieldMachine, modeOf, runInPty, toolRuns, type InitMachine } from "../helpers/init-machine.js";
import { fastTimeoutExec, pipedExec, runStandin, runXksctl } from "../helpers/operator.js";
import { runBin } from "../helpers/serve-process.js";
import { tempDir } from "../helpers/tmp.js";

const machines: InitMachine[] = [];
let ca: TestCa;
before(() => (ca = createTestCa()));
after(() => {
  machines.forEach((m) => m.cleanup());
  fs.rmSync(ca.dir, { recursive: true, force: true });
});

function machine(opts: Parameters<typeof bareNshieldMachine>[0] = {}): InitMachine {
  const m = bareNshieldMachine(opts);
  machines.push(m);
  return m;
}

type Doc = { server: Record<string, unknown>; tls: Record<string, unknown>; pkcs11: Record<string, unknown>; hsm_capabilities: Record<string, unknown>; external_key_stores: Record<string, unknown>[] };
const settingsOf = (file: string): Doc => TOML.parse(fs.readFileSync(file, "utf8")) as unknown as Doc;
const MODULE = ["--protection", "module", "--endpoint", "xks.example.com", "--yes"];

/** In-process run on the machine (no terminal unless asked). */
function inProcess(m: InitMachine, argv: string[], opts: { interactive?: boolean; timeoutMs?: number } = {}) {
  const exec = createExec(m.env);
  const wrapped = opts.timeoutMs ? fastTimeoutExec(exec, opts.timeoutMs) : exec;
  return runXksctl(argv, { env: m.env, cwd: m.scratch, interactive: opts.interactive ?? false, operator: { exec: opts.interactive ? pipedExec(wrapped) : wrapped } });
}

describe("module protection", () => {
  test("new key + CSR; then re-runs: --yes keeps, --existing add adds a key, a broken setup refuses --yes, --force replaces it", async () => {
    const m = machine();
    const rcFile = path.join(m.world.home, "cknfastrc");
    fs.writeFileSync(rcFile, "# local tuning\nCKNFAST_NO_ACCELERATOR_SLOTS=1\nCKNFAST_DEBUG=0\n");
    const dir = path.join(m.scratch, "etc");
    const settingsFile = path.join(dir, "settings.toml");
    const r = await runBin(["init", "--dir", dir, "--key-id", "xks-key-1", ...MODULE], m.env, 60_000, m.scratch);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /Summary: nothing has been changed yet\.[\s\S]*✔ XKS proxy set up in /);
    assert.ok(toolRuns(m).includes("generatekey --batch pkcs11 protect=module type=AES size=256 plainname=xks-key-1 recovery=yes nvram=no"), toolRuns(m).join("\n"));

    const doc = settingsOf(settingsFile);
    assert.equal(doc.pkcs11.PKCS11_HSM_MODULE, path.join(m.world.home, "toolkits/pkcs11/libcknfast.so"));
    assert.equal(doc.pkcs11.token_label, "accelerator");
    assert.equal(doc.pkcs11.user_pin, "");
    assert.equal(doc.pkcs11.user_pin_file, undefined);
    assert.deepEqual(doc.hsm_capabilities, { can_generate_iv: true, is_zero_iv_required: true });
    assert.deepEqual(doc.server, { ...doc.server, ip: "0.0.0.0", port: 443, port_http_ping: 80, region: "us-east-1" });
    const store = doc.external_key_stores[0]!;
    assert.equal(store.uri_path_prefix, "/nshield/xks");
    assert.deepEqual(store.xks_key_id_set, ["xks-key-1"]);
    assert.deepEqual(doc.tls, { tls_cert_pem: path.join(dir, "tls/xks-proxy-chain.pem"), tls_key_pem: path.join(dir, "tls/xks-proxy.key"), mtls_client_ca_pem: "", mtls_client_dns_name: "" });
    assert.match(fs.readFileSync(settingsFile, "utf8"), /^# xksctl \/ AWS KMS XKS proxy settings, written by `xksctl init`\./, "the commented template");
    assert.deepEqual(checkSettingsFile(settingsFile, defaultValidateDeps({})).problems, []);
    // The secret is shown once, and is what the settings and the console file hold.
    const secret = String(store.sigv4_secret_access_key);
    assert.ok(r.stdout.includes(`secret ${secret}`));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "kms-proxy-config.json"), "utf8")), {
      XksProxyUriPath: "/nshield/xks/kms/xks/v1",
      XksProxyAuthenticationCredential: { AccessKeyId: store.sigv4_access_key_id, RawSecretAccessKey: secret },
    });
    for (const [f, mode] of [["settings.toml", "600"], ["kms-proxy-config.json", "600"], ["tls/xks-proxy.key", "600"], ["tls/xks-proxy.csr", "644"], ["xksctl.service", "644"]] as const) assert.equal(modeOf(path.join(dir, f)), mode, f);
    // cknfastrc: the guide's line for module protection, the conflicting one turned off, the rest kept.
    assert.equal(fs.readFileSync(rcFile, "utf8"), "# local tuning\nCKNFAST_NO_ACCELERATOR_SLOTS=0\nCKNFAST_DEBUG=0\n# set by xksctl init (module protection)\nCKNFAST_FAKE_ACCELERATOR_LOGIN=1\n");
    // The CSR: CN and the only SAN are the endpoint; the key is the one written.
    const csr = execFileSync("openssl", ["req", "-in", path.join(dir, "tls/xks-proxy.csr"), "-noout", "-text", "-verify"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    assert.match(csr, /Subject: CN = xks\.example\.com\n/);
    assert.match(csr, /X509v3 Subject Alternative Name: ?\n\s+DNS:xks\.example\.com\n/);
    const csrPub = execFileSync("openssl", ["req", "-in", path.join(dir, "tls/xks-proxy.csr"), "-noout", "-pubkey"], { encoding: "utf8" });
    const keyPub = execFileSync("openssl", ["pkey", "-in", path.join(dir, "tls/xks-proxy.key"), "-pubout"], { encoding: "utf8" });
    assert.equal(csrPub, keyPub);
    // The unit: real paths, the template's hardening.
    const unit = fs.readFileSync(path.join(dir, "xksctl.service"), "utf8");
    assert.match(unit, new RegExp(`^Environment=XKS_PROXY_SETTINGS_TOML=${settingsFile}$`, "m"));
    assert.match(unit, new RegExp(`^ExecStart=${process.execPath} \\S+/bin/xksctl\\.cjs serve$`, "m"));
    assert.match(unit, new RegExp(`^ReadOnlyPaths=-${m.world.home}/kmdata$`, "m"));
    assert.match(unit, /^ReadWritePaths=-\/var\/local\/xks-proxy\/logs$/m);
    assert.match(unit, /^User=xksctl\nGroup=nfast$/m);
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    // The report names the AWS step and the next ones.
    assert.match(r.stdout, /xksctl aws --config \S+settings\.toml --endpoint https:\/\/xks\.example\.com --key-admin-arn /);
    assert.match(r.stdout, /xksctl tls install CHAIN\.pem --config /);
    // The written settings work.
    const kt = await runBin(["keys", "test", "xks-key-1", "--config", settingsFile], m.env, 60_000, m.scratch);
    assert.equal(kt.code, 0, kt.stderr);

    // Re-run with --yes: the setup works (its CSR is pending), so it is kept, byte for byte.
    const before = fs.readFileSync(settingsFile);
    const keep = await runBin(["init", "--dir", dir, "--yes"], m.env, 60_000, m.scratch);
    assert.equal(keep.code, 0, keep.stderr + keep.stdout);
    assert.match(keep.stdout, /✔ Kept the setup in /);
    assert.match(keep.stdout, /the CA's certificate chain is not installed yet/);
    assert.deepEqual(fs.readFileSync(settingsFile), before);
    assert.equal(fs.existsSync(`${settingsFile}.bak`), false);

    // Add a key to the store (the keys create verb).
    const add = await runBin(["init", "--dir", dir, "--existing", "add", "--key-id", "xks-key-2", "--yes"], m.env, 60_000, m.scratch);
    assert.equal(add.code, 0, add.stderr + add.stdout);
    assert.deepEqual(settingsOf(settingsFile).external_key_stores[0]!.xks_key_id_set, ["xks-key-1", "xks-key-2"]);
    assert.equal(settingsOf(settingsFile).external_key_stores[0]!.sigv4_access_key_id, store.sigv4_access_key_id, "credential untouched");

    // Break it: a key id the HSM does not have. --yes refuses and names --force; nothing changes.
    const broken = fs.readFileSync(settingsFile, "utf8").replace('"xks-key-2"', '"no-such-key"');
    fs.writeFileSync(settingsFile, broken, { mode: 0o600 });
    const refuse = await runBin(["init", "--dir", dir, "--yes"], m.env, 60_000, m.scratch);
    assert.equal(refuse.code, 1, refuse.stdout + refuse.stderr);
    assert.match(refuse.stderr, /✖ \S+settings\.toml holds a setup that does not work; nothing was changed\.\n {2}key no-such-key: No AES key labelled "no-such-key" on the token\./);
    assert.match(refuse.stderr, /→ .*pass --force to replace it/);
    assert.equal(fs.readFileSync(settingsFile, "utf8"), broken);

    // --force: the questions again from the current values; key and credential kept; backups 0600.
    const generated = toolRuns(m).filter((x) => x.startsWith("generatekey")).length;
    const force = await runBin(["init", "--dir", dir, "--force", "--yes"], m.env, 60_000, m.scratch);
    assert.equal(force.code, 0, force.stderr + force.stdout);
    assert.equal(toolRuns(m).filter((x) => x.startsWith("generatekey")).length, generated, "no new key");
    const after = settingsOf(settingsFile);
    assert.deepEqual(after.external_key_stores[0]!.xks_key_id_set, ["xks-key-1"], "the id the HSM does not have is dropped");
    assert.match(force.stdout, /Note: no-such-key is dropped from the key store: the HSM has no key of that name/);
    assert.equal(after.external_key_stores[0]!.sigv4_access_key_id, store.sigv4_access_key_id);
    assert.equal(fs.readFileSync(`${settingsFile}.bak`, "utf8"), broken);
    for (const f of ["settings.toml.bak", "kms-proxy-config.json.bak", "tls/xks-proxy.key.bak"]) assert.equal(modeOf(path.join(dir, f)), "600", f);
  });

  test("--answers FILE: an existing key and an existing certificate chain; nothing asked, no key generated", async () => {
    const m = machine();
    runStandin(m.world, "generatekey", ["--batch", "pkcs11", "protect=module", "type=AES", "size=256", "plainname=old-key"]);
    const leaf = ca.newLeaf(["xks.example.com"]);
    const certFile = path.join(m.scratch, "chain.pem");
    const keyFile = path.join(m.scratch, "server.key");
    fs.writeFileSync(certFile, leaf.certPem + ca.intermediatePem);
    fs.writeFileSync(keyFile, leaf.keyPem, { mode: 0o600 });
    const dir = path.join(m.scratch, "etc");
    const answers = path.join(m.scratch, "answers.json");
    fs.writeFileSync(answers, JSON.stringify({ dir, protection: "module", "key-id": "old-key", "use-existing-key": true, endpoint: "xks.example.com", "tls-cert": certFile, "tls-key": keyFile, port: 8443, prefix: "/bank/xks", region: "eu-central-1", yes: true }));
    const r = await runBin(["init", "--answers", answers], m.env, 60_000, m.scratch);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual(toolRuns(m).filter((x) => x.startsWith("generatekey")), []);
    const doc = settingsOf(path.join(dir, "settings.toml"));
    assert.equal(doc.tls.tls_cert_pem, certFile);
    assert.equal(doc.tls.tls_key_pem, keyFile);
    assert.equal(doc.server.port, 8443);
    assert.equal(doc.server.region, "eu-central-1");
    assert.equal(doc.external_key_stores[0]!.uri_path_prefix, "/bank/xks");
    assert.deepEqual(doc.external_key_stores[0]!.xks_key_id_set, ["old-key"]);
    assert.equal(fs.existsSync(path.join(dir, "tls")), false, "no TLS files of its own");
    // A flag on the command line wins over the file.
    const r2 = await runBin(["init", "--answers", answers, "--dir", path.join(m.scratch, "etc2"), "--port", "9443"], m.env, 60_000, m.scratch);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(settingsOf(path.join(m.scratch, "etc2/settings.toml")).server.port, 9443);
  });

  test("an existing key that is not AES-256 fails the check; nothing is written", async () => {
    const m = machine();
    runStandin(m.world, "generatekey", ["--batch", "pkcs11", "protect=module", "type=AES", "size=128", "plainname=short-key"]);
    const dir = path.join(m.scratch, "etc");
    const r = await runBin(["init", "--dir", dir, "--key-id", "short-key", "--use-existing-key", ...MODULE], m.env, 60_000, m.scratch);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /✖ The key "short-key" cannot serve KMS: the key is AES_128; XKS needs AES_256\.\n→ Pick an AES-256 key/);
    assert.equal(fs.existsSync(dir), false);
    assert.equal(fs.existsSync(path.join(m.world.home, "cknfastrc")), false);
  });

  test("an existing chain that does not fit is refused before anything is done (exit 1)", async () => {
    const m = machine();
    const leaf = ca.newLeaf(["other.example.com"]);
    const certFile = path.join(m.scratch, "chain.pem");
    fs.writeFileSync(certFile, leaf.certPem + ca.intermediatePem);
    const keyFile = path.join(m.scratch, "k.pem");
    fs.writeFileSync(keyFile, ca.newLeaf(["xks.example.com"]).keyPem, { mode: 0o600 });
    const dir = path.join(m.scratch, "etc");
    const r = await runBin(["init", "--dir", dir, "--key-id", "k1", "--tls-cert", certFile, "--tls-key", keyFile, ...MODULE], m.env, 60_000, m.scratch);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /✖ .*chain\.pem and .*k\.pem cannot serve xks\.example\.com: 2 problems; nothing was written\.\n {2}key-mismatch: .*\n {2}name-mismatch: The server certificate does not cover xks\.example\.com: its DNS names are other\.example\.com\./);
    assert.equal(fs.existsSync(dir), false);
    assert.deepEqual(toolRuns(m).filter((x) => x.startsWith("generatekey")), []);
  });
});

describe("OCS protection", () => {
  test("an existing card set with --pin-file, a new key", async () => {
    const m = machine({ tokenLabel: "xksocs", pin: "ocs-pass-1" });
    runStandin(m.world, "createocs", ["-m", "1", "-Q", "1/1", "-N", "xksocs"]);
    const pinFile = path.join(m.scratch, "pin");
    fs.writeFileSync(pinFile, "ocs-pass-1\n", { mode: 0o600 });
    const dir = path.join(m.scratch, "etc");
    const r = await runBin(["init", "--dir", dir, "--protection", "ocs", "--cardset", "xksocs", "--pin-file", pinFile, "--key-id", "ocs-key", "--endpoint", "xks.example.com", "--yes"], m.env, 60_000, m.scratch);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok(toolRuns(m).includes("generatekey --batch pkcs11 protect=token cardset=xksocs slot=0 type=AES size=256 plainname=ocs-key recovery=yes nvram=no"), toolRuns(m).join("\n"));
    const doc = settingsOf(path.join(dir, "settings.toml"));
    assert.equal(doc.pkcs11.token_label, "xksocs");
    assert.equal(doc.pkcs11.user_pin, "");
    assert.equal(doc.pkcs11.user_pin_file, pinFile);
    assert.ok(!fs.readFileSync(path.join(dir, "settings.toml"), "utf8").includes("ocs-pass-1"), "the PIN is not in the TOML");
    assert.equal(fs.existsSync(path.join(dir, "ocs-pin")), false, "the given PIN file is used, not copied");
    assert.match(fs.readFileSync(path.join(m.world.home, "cknfastrc"), "utf8"), /^CKNFAST_NO_ACCELERATOR_SLOTS=1$/m);
    const kt = await runBin(["keys", "test", "ocs-key", "--config", path.join(dir, "settings.toml")], m.env, 60_000, m.scratch);
    assert.equal(kt.code, 0, kt.stderr);
  });

  test("a new card set, scripted on a terminal (createocs needs one): --create-ocs --quorum --pin-file --yes", async () => {
    const m = machine({ tokenLabel: "newocs", pin: "new-pass-1" });
    const pinFile = path.join(m.scratch, "pin");
    fs.writeFileSync(pinFile, "new-pass-1\n", { mode: 0o600 });
    const dir = path.join(m.scratch, "etc");
    const r = await runInPty(["init", "--dir", dir, "--create-ocs", "newocs", "--quorum", "1/1", "--pin-file", pinFile, "--key-id", "k", "--endpoint", "xks.example.com", "--yes"], { env: m.env, cwd: m.scratch, steps: [] });
    assert.equal(r.code, 0, r.transcript);
    assert.ok(toolRuns(m).includes("createocs -m 1 -Q 1/1 -N newocs"), toolRuns(m).join("\n"));
    assert.equal(settingsOf(path.join(dir, "settings.toml")).pkcs11.token_label, "newocs");
  });

  test("a new card set without a terminal: exit 2, nothing run", async () => {
    const m = machine();
    const r = await inProcess(m, ["init", "--dir", path.join(m.scratch, "etc"), "--create-ocs", "xksocs", "--quorum", "1/1", "--key-id", "k", "--endpoint", "xks.example.com", "--yes"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /✖ createocs asks for each card's passphrase on a terminal, and there is none\./);
    assert.deepEqual(toolRuns(m).filter((x) => x.startsWith("createocs")), []);
  });

  test("a card set that does not exist, a PIN file others can read, a missing PIN: refused before any tool runs", async () => {
    const m = machine();
    runStandin(m.world, "createocs", ["-m", "1", "-Q", "1/1", "-N", "real"]);
    const base = ["init", "--dir", path.join(m.scratch, "etc"), "--protection", "ocs", "--key-id", "k", "--endpoint", "xks.example.com", "--yes"];
    const nope = await inProcess(m, [...base, "--cardset", "nope"]);
    assert.equal(nope.code, 1);
    assert.match(nope.stderr, /✖ There is no card set named "nope" in this Security World \(card sets: real\)\.\n→ Pick one of them with --cardset, or create one with --create-ocs nope --quorum 1\/1\./);
    const pinFile = path.join(m.scratch, "pin");
    fs.writeFileSync(pinFile, "x\n", { mode: 0o644 });
    const open = await inProcess(m, [...base, "--cardset", "real", "--pin-file", pinFile]);
    assert.equal(open.code, 1);
    assert.match(open.stderr, /✖ The PIN file \S+ is readable by every user \(mode 0644\)\.\n→ Run chmod 600 /);
    const none = await inProcess(m, [...base, "--cardset", "real"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /The passphrase of card set real \(the PKCS#11 PIN\) is needed, and there is no terminal to type it on\.\n→ Pass --pin-file FILE/);
    assert.deepEqual(toolRuns(m).filter((x) => x.startsWith("generatekey")), []);
  });
});

describe("answers and their rules", () => {
  test("without a terminal and without an answer: exit 2 naming the flag", async (t) => {
    const m = machine();
    const dir = path.join(m.scratch, "etc");
    const first = await inProcess(m, ["init", "--dir", dir]);
    assert.equal(first.code, 2);
    assert.match(first.stderr, /✖ How should the HSM protect the XKS key: no terminal to ask on, and no --protection given\.\n→ Pass --protection VALUE \(or put "protection" in --answers FILE\), or --yes to take the default\./);
    const confirm = await inProcess(m, ["init", "--dir", dir, "--protection", "module", "--key-id", "k", "--prefix", "/a", "--endpoint", "xks.example.com", "--port", "443", "--region", "us-east-1", "--tls", "csr"]);
    assert.equal(confirm.code, 2);
    assert.match(confirm.stderr, /✖ Make these changes: no terminal to ask on, and no --yes given\.\n→ Pass --yes /);
    assert.equal(fs.existsSync(dir), false);
    if (endpointNameProblem(os.hostname()) === null) return t.skip("this host's name is a DNS name, so --yes takes it as the endpoint");
    const endpoint = await inProcess(m, ["init", "--dir", dir, "--protection", "module", "--key-id", "k", "--yes"]);
    assert.equal(endpoint.code, 2);
    assert.match(endpoint.stderr, /no --endpoint given\.\n→ Pass --endpoint VALUE/);
  });

  test("--endpoint must be a DNS name KMS accepts: the rule is shown (exit 2)", async () => {
    const m = machine();
    for (const [bad, why] of [["192.0.2.10", "it is an IP address"], ["xks.example.com:8443", "it has a port"], ["https://xks.example.com", "it has a scheme"], ["xks", "it is a single label"]] as const) {
      const r = await inProcess(m, ["init", "--dir", path.join(m.scratch, "etc"), "--protection", "module", "--key-id", "k", "--endpoint", bad, "--yes"]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, new RegExp(`✖ --endpoint "${bad.replace(/[.:/]/g, "\\$&")}" is not usable: ${why}.*\\n→ Give a fully qualified DNS name`), bad);
    }
    assert.deepEqual(toolRuns(m).filter((x) => x.startsWith("generatekey")), []);
  });

  test("a bad answer fails before anything: unknown key in the file, bad quorum, conflicting flags", async () => {
    const m = machine();
    const file = path.join(m.scratch, "a.json");
    fs.writeFileSync(file, JSON.stringify({ protecton: "module" }));
    const unknown = await inProcess(m, ["init", "--answers", file]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown answer "protecton"\n→ Use init's flag names: backend, dir, /);
    const q = await inProcess(m, ["init", "--create-ocs", "x", "--quorum", "3/2"]);
    assert.equal(q.code, 2);
    assert.match(q.stderr, /--quorum must be K\/N with 1 <= K <= N <= 64/);
    const both = await inProcess(m, ["init", "--cardset", "a", "--create-ocs", "b"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--cardset \(an existing card set\) and --create-ocs \(a new one\) exclude each other/);
    assert.deepEqual(toolRuns(m), []);
  });

  test("a key id that exists without --use-existing-key, and --use-existing-key for a missing one", async () => {
    const m = machine();
    runStandin(m.world, "generatekey", ["--batch", "pkcs11", "protect=module", "type=AES", "size=256", "plainname=taken"]);
    const base = ["init", "--dir", path.join(m.scratch, "etc"), ...MODULE];
    const taken = await inProcess(m, [...base, "--key-id", "taken"]);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /✖ A key named "taken" already exists in the Security World \(key_pkcs11_ua[0-9a-f]+, module protection\)\.\n→ Pass --use-existing-key to use it, or choose another --key-id\./);
    const missing = await inProcess(m, [...base, "--key-id", "absent", "--use-existing-key"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /✖ No pkcs11 key named "absent" in the Security World/);
  });
});

describe("nShield failures the verbs know: message and exit code, nothing written", () => {
  const cases: { name: string; env: NodeJS.ProcessEnv; argv?: string[]; code: number; message: RegExp; timeoutMs?: number; ocs?: boolean; interactive?: boolean }[] = [
    { name: "hardserver down", env: { NFAST_STANDIN_FAIL: "hardserver-down" }, code: 1, message: /✖ enquiry: the nShield hardserver is not running \(.*ServerNotRunning.*\)\n[\s\S]*→ Start the hardserver: `\/opt\/nfast\/sbin\/init\.d-ncipher start`\./ },
    { name: "world unusable", env: { NFAST_STANDIN_FAIL: "world-unusable" }, code: 1, message: /✖ The Security World is not usable \(state 0x37000001 Initialised !Usable Recovery\)\.\n→ Load or create the Security World/ },
    { name: "module unusable", env: { NFAST_STANDIN_FAIL: "module-unusable" }, code: 1, message: /✖ Module #1 .*not usable.*\n[\s\S]*→ Check the module is in operational mode and enrolled/ },
    { name: "output no parser knows", env: { NFAST_STANDIN_GARBAGE: "nfkminfo" }, code: 1, message: /✖ Unexpected output from nfkminfo: an unknown section header: "Welcome to the nShield stand-in's surprise format"\n→ xksctl did not understand/ },
    { name: "a tool that hangs", env: { NFAST_STANDIN_HANG: "enquiry" }, timeoutMs: 400, code: 1, message: /✖ enquiry did not finish within 400 ms and was stopped: .*enquiry\n→ Check the hardserver responds/ },
    { name: "FIPS 140 Level 3 world without a card", env: { NFAST_STANDIN_WORLD_MODE: "fips1402level3" }, code: 1, message: /✖ generatekey: the Security World \(FIPS 140 Level 3\) asks for an Administrator or Operator Card to authorise this .*\n[\s\S]*→ Insert an Administrator Card or an Operator Card of this world/ },
    { name: "a parameter generatekey rejects", env: { NFAST_STANDIN_REJECT_PARAM: "nvram" }, code: 1, message: /✖ generatekey: the value of parameter `nvram` was rejected \("ERROR: nvram: invalid option"\)/ },
    { name: "OCS card missing", env: { NFAST_STANDIN_CARD: "missing" }, ocs: true, code: 1, message: /✖ generatekey: a card of the card set is missing \("generatekey: no card present in slot 0"\)\n[\s\S]*→ Insert a card of the right card set/ },
    { name: "OCS wrong passphrase", env: { NFAST_STANDIN_CARD: "wrong-passphrase" }, ocs: true, code: 1, message: /✖ generatekey: the card passphrase was not accepted/ },
    { name: "createocs without a card", env: { NFAST_STANDIN_CARD: "missing" }, argv: ["--create-ocs", "fresh", "--quorum", "1/1"], interactive: true, code: 1, message: /✖ createocs: a card of the card set is missing \("createocs: no card present in slot 0"\)/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const m = machine({ env: c.env });
      let extra = c.argv ?? ["--protection", "module"];
      if (c.ocs) {
        runStandin(m.world, "createocs", ["-m", "1", "-Q", "1/1", "-N", "xksocs"]);
        const pin = path.join(m.scratch, "pin");
        fs.writeFileSync(pin, "1234\n", { mode: 0o600 });
        extra = ["--cardset", "xksocs", "--pin-file", pin];
      } else if (c.argv) {
        const pin = path.join(m.scratch, "pin");
        fs.writeFileSync(pin, "1234\n", { mode: 0o600 });
        extra = [...c.argv, "--pin-file", pin];
      }
      const dir = path.join(m.scratch, "etc");
      const r = await inProcess(m, ["init", "--dir", dir, "--key-id", "k1", "--endpoint", "xks.example.com", "--yes", ...extra], { ...(c.timeoutMs ? { timeoutMs: c.timeoutMs } : {}), ...(c.interactive ? { interactive: true } : {}) });
      assert.equal(r.code, c.code, r.stderr + r.stdout);
      assert.match(r.stderr, c.message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
      assert.equal(fs.existsSync(path.join(dir, "settings.toml")), false);
      assert.equal(fs.existsSync(path.join(m.world.home, "cknfastrc")), false);
    });
  }

  test("tools missing with --backend nshield", async () => {
    const empty = tempDir("xksctl-no-nfast-");
    try {
      const r = await runXksctl(["init", "--backend", "nshield", "--dir", path.join(empty, "etc"), ...MODULE], { env: { PATH: "/usr/bin:/bin", NFAST_HOME: empty }, cwd: empty });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /✖ The nShield tool `enquiry` was not found on PATH, in \$NFAST_HOME\/bin or in \/opt\/nfast\/bin\.\n→ Install the nShield Security World software/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
