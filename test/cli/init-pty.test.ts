/**
 * `xksctl init` at a real terminal: the built binary in a pseudo-terminal, real @inquirer
 * prompts, real keystrokes. From a bare stand-in nShield client to a written setup (a new card
 * set, its passphrase typed twice, a new key, a CSR), from a bare machine on the softhsm backend
 * to a running `serve` that answers a signed Encrypt and Decrypt, and Ctrl-C at a question.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import TOML from "@iarna/toml";
import { checkSettingsFile, defaultValidateDeps } from "../../src/config/load.js";
import { KEY, bareNshieldMachine, modeOf, runInPty, toolRuns, type InitMachine } from "../helpers/init-machine.js";
import { runBin, startServe } from "../helpers/serve-process.js";
import { agents, smithyPost } from "../helpers/sign.js";
import { tempDir } from "../helpers/tmp.js";

const machines: InitMachine[] = [];
after(() => machines.forEach((m) => m.cleanup()));

/** The prompt texts of the nShield dialog, in order (a change of wording must update this test). */
const Q = {
  protection: "How should the HSM protect the XKS key\\?",
  cardset: "Which Operator Card Set protects the key\\?",
  name: "Name of the new card set",
  quorum: "Cards needed / cards in the set",
  keyId: "Key id \\(the key's name in the HSM",
  prefix: "URI path prefix of the key store",
  endpoint: "DNS name KMS connects to",
  port: "Port the proxy listens on",
  region: "AWS region of the KMS key store",
  tls: "TLS certificate for the endpoint",
  service: "Install the systemd unit into",
  confirm: "Make these changes\\?",
};

describe("nShield at a terminal", () => {
  test("bare machine → OCS created with createocs, passphrase typed twice, new key, CSR: a written, working setup", async () => {
    const passphrase = "correct horse 42";
    const m = bareNshieldMachine({ tokenLabel: "xksocs", pin: passphrase });
    machines.push(m);
    fs.writeFileSync(path.join(m.world.home, "cknfastrc"), "# site settings\nCKNFAST_DEBUG=0\n");
    const dir = path.join(m.scratch, "etc-xksctl");
    const r = await runInPty(["init", "--dir", dir], {
      env: m.env,
      cwd: m.scratch,
      steps: [
        { expect: Q.protection, send: KEY.down + KEY.enter }, // module → OCS
        { expect: Q.cardset, send: KEY.enter }, // the only choice on a bare machine: create one
        { expect: Q.name, send: KEY.enter }, // default xksocs
        { expect: Q.quorum, send: KEY.enter }, // default 1/1
        { expect: Q.keyId, send: KEY.enter }, // default xks-key-1
        { expect: Q.prefix, send: KEY.enter }, // default /nshield/xks
        { expect: Q.endpoint, send: "xks.example.com" + KEY.enter },
        { expect: Q.port, send: KEY.enter },
        { expect: Q.region, send: "eu-west-2" + KEY.enter },
        { expect: Q.tls, send: KEY.enter }, // default: new key + CSR
        { expect: Q.service, send: KEY.enter }, // default no
        { expect: Q.confirm, send: "y" + KEY.enter },
        { expect: "Type the passphrase of card set xksocs once more", send: passphrase + KEY.enter },
        { expect: "And again, to be sure", send: passphrase + KEY.enter },
      ],
    });
    assert.equal(r.error, null, r.transcript);
    assert.equal(r.code, 0, r.transcript);
    // What the admin saw: the summary before anything, createocs's own output on the terminal, the report.
    const t = r.transcript;
    assert.match(t, /Summary: nothing has been changed yet\.[\s\S]*Card writing complete\./, "summary before createocs");
    assert.match(t, /create the Operator Card Set xksocs \(1\/1\) with createocs on this terminal/);
    assert.match(t, /cardset created; hkltu = [0-9a-f]{40}/, "createocs output reaches the terminal");
    assert.match(t, /Key successfully generated\./, "generatekey output reaches the terminal");
    assert.match(t, /✔ XKS proxy set up in /);
    assert.ok(!t.includes(passphrase), "the passphrase is never echoed");
    // What it ran.
    const runs = toolRuns(m);
    assert.ok(runs.includes("createocs -m 1 -Q 1/1 -N xksocs"), runs.join("\n"));
    assert.ok(runs.some((x) => x === "generatekey --batch pkcs11 protect=token cardset=xksocs slot=0 type=AES size=256 plainname=xks-key-1 recovery=yes nvram=no"), runs.join("\n"));
    // What it wrote.
    const settingsFile = path.join(dir, "settings.toml");
    for (const [f, mode] of [["settings.toml", "600"], ["ocs-pin", "600"], ["kms-proxy-config.json", "600"], ["tls/xks-proxy.key", "600"], ["tls/xks-proxy.csr", "644"], ["xksctl.service", "644"]] as const) {
      assert.equal(modeOf(path.join(dir, f)), mode, f);
    }
    assert.equal(fs.readFileSync(path.join(dir, "ocs-pin"), "utf8"), `${passphrase}\n`);
    const doc = TOML.parse(fs.readFileSync(settingsFile, "utf8")) as Record<string, Record<string, unknown>>;
    assert.equal(doc.pkcs11!.token_label, "xksocs");
    assert.equal(doc.pkcs11!.user_pin, "");
    assert.equal(doc.pkcs11!.user_pin_file, path.join(dir, "ocs-pin"));
    assert.equal(doc.pkcs11!.PKCS11_HSM_MODULE, path.join(m.world.home, "toolkits/pkcs11/libcknfast.so"));
    assert.equal(doc.server!.region, "eu-west-2");
    assert.equal(doc.server!.port, 443);
    assert.deepEqual(doc.hsm_capabilities, { can_generate_iv: true, is_zero_iv_required: true });
    const rc = fs.readFileSync(path.join(m.world.home, "cknfastrc"), "utf8");
    assert.match(rc, /^# site settings\nCKNFAST_DEBUG=0\n# set by xksctl init \(ocs protection\)\nCKNFAST_NO_ACCELERATOR_SLOTS=1\n$/);
    assert.ok(fs.existsSync(path.join(m.world.home, "cknfastrc.bak")));
    const checked = checkSettingsFile(settingsFile, defaultValidateDeps({}));
    assert.deepEqual(checked.problems, []);
    // The setup works: the key answers a round trip through the written settings.
    const kt = await runBin(["keys", "test", "xks-key-1", "--config", settingsFile], m.env, 60_000, m.scratch);
    assert.equal(kt.code, 0, kt.stderr);
  });

  test("Ctrl-C at a question: exit 130, one line, no stack trace, nothing written", async () => {
    const m = bareNshieldMachine();
    machines.push(m);
    const dir = path.join(m.scratch, "etc");
    const r = await runInPty(["init", "--dir", dir], { env: m.env, cwd: m.scratch, steps: [{ expect: Q.protection, send: KEY.down + KEY.enter }, { expect: Q.cardset, send: KEY.ctrlC }] });
    assert.equal(r.error, null, r.transcript);
    assert.equal(r.code, 130, r.transcript);
    assert.match(r.transcript, /✖ Interrupted \(Ctrl-C\) at the question for --cardset\./);
    assert.doesNotMatch(r.transcript, /\n\s+at |ExitPromptError/);
    assert.equal(fs.existsSync(dir), false);
    assert.equal(fs.existsSync(path.join(m.world.home, "cknfastrc")), false);
  });

  test("Ctrl-C at the summary: exit 130, no key generated, nothing written", async () => {
    const m = bareNshieldMachine();
    machines.push(m);
    const dir = path.join(m.scratch, "etc");
    const r = await runInPty(["init", "--dir", dir, "--protection", "module", "--endpoint", "xks.example.com", "--key-id", "k1"], {
      env: m.env,
      cwd: m.scratch,
      steps: [
        { expect: Q.prefix, send: KEY.enter },
        { expect: Q.port, send: KEY.enter },
        { expect: Q.region, send: KEY.enter },
        { expect: Q.tls, send: KEY.enter },
        { expect: Q.service, send: KEY.enter },
        { expect: Q.confirm, send: KEY.ctrlC },
      ],
    });
    assert.equal(r.code, 130, r.transcript);
    assert.match(r.transcript, /Interrupted \(Ctrl-C\) at the question for --yes/);
    assert.equal(fs.existsSync(dir), false);
    assert.ok(!toolRuns(m).some((x) => x.startsWith("generatekey")));
  });
});

describe("softhsm at a terminal", () => {
  test("bare machine → key store; serve from another folder without SOFTHSM2_CONF answers a signed Encrypt and Decrypt", async () => {
    const scratch = tempDir("xksctl-init-softhsm-");
    const elsewhere = tempDir("xksctl-elsewhere-");
    try {
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: scratch, NFAST_HOME: path.join(scratch, "no-nfast") };
      const r = await runInPty(["init"], {
        env,
        cwd: scratch,
        steps: [
          { expect: "External key id", send: "pty-key" + KEY.enter },
          { expect: "URI path prefix", send: "/pty/xks" + KEY.enter },
          { expect: "Host name clients use", send: KEY.enter },
          { expect: "Port for the XKS API", send: KEY.enter },
          { expect: "AWS region", send: KEY.enter },
          { expect: "TLS certificate", send: KEY.enter },
          { expect: Q.confirm, send: KEY.enter },
        ],
      });
      assert.equal(r.error, null, r.transcript);
      assert.equal(r.code, 0, r.transcript);
      assert.match(r.transcript, /✔ Key store ready in .*\.xksctl/);
      const settingsFile = path.join(scratch, ".xksctl", "settings.toml");
      const doc = TOML.parse(fs.readFileSync(settingsFile, "utf8")) as { external_key_stores: { sigv4_access_key_id: string; sigv4_secret_access_key: string }[]; pkcs11: { softhsm2_conf: string } };
      assert.equal(doc.pkcs11.softhsm2_conf, "softhsm2.conf");
      const cred = doc.external_key_stores[0]!;
      assert.ok(r.transcript.includes(cred.sigv4_secret_access_key), "the secret is shown once");
      const serveEnv = { PATH: process.env.PATH, HOME: elsewhere };
      const s = await startServe(settingsFile, serveEnv, { cwd: elsewhere });
      try {
        const ca = fs.readFileSync(path.join(scratch, ".xksctl/tls/cert.pem"));
        const { h2 } = agents(ca);
        const url = `https://localhost:${s.port}/pty/xks/kms/xks/v1/keys/pty-key`;
        const md = (op: string) => ({ awsPrincipalArn: "arn:aws:iam::111122223333:user/admin", kmsKeyArn: "arn:aws:kms:us-east-1:111122223333:key/pty", kmsOperation: op, kmsRequestId: `pty-${op}` });
        const plaintext = crypto.randomBytes(48);
        const sign = { accessKeyId: cred.sigv4_access_key_id, secret: cred.sigv4_secret_access_key };
        const enc = await smithyPost(`${url}/encrypt`, { requestMetadata: md("Encrypt"), plaintext: plaintext.toString("base64"), encryptionAlgorithm: "AES_GCM" }, h2, sign);
        assert.equal(enc.status, 200, enc.text);
        const dec = await smithyPost(
          `${url}/decrypt`,
          { requestMetadata: md("Decrypt"), encryptionAlgorithm: "AES_GCM", ciphertext: enc.json.ciphertext, initializationVector: enc.json.initializationVector, authenticationTag: enc.json.authenticationTag },
          h2,
          sign,
        );
        assert.equal(dec.status, 200, dec.text);
        assert.deepEqual(Buffer.from(String(dec.json.plaintext), "base64"), plaintext);
        await h2.close();
      } finally {
        await s.stop();
      }
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
