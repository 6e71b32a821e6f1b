/** What init writes, rendered without a machine: the systemd unit and the settings text. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { describe, test } from "node:test";
import TOML from "@iarna/toml";
import { SERVICE_TEMPLATE, renderService } from "../../../src/config/render-service.js";
import { renderInitSettings, settingsFromText, type InitSettings } from "../../../src/workflows/init/settings-text.js";

const base: InitSettings = {
  ip: "0.0.0.0", port: 443, pingPort: 80, region: "us-east-1", tlsCert: "/etc/xksctl/tls/xks-proxy-chain.pem", tlsKey: "/etc/xksctl/tls/xks-proxy.key",
  prefix: "/nshield/xks", accessKeyId: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", secretAccessKey: "a".repeat(44), keyIds: ["xks-key-1"], pin: "",
  pkcs11Module: "/opt/nfast/toolkits/pkcs11/libcknfast.so", tokenLabel: "accelerator", hsmIv: true,
};

describe("systemd unit", () => {
  const v = { settingsFile: "/srv/xks conf/settings.toml", node: "/usr/local/bin/node", cli: "/opt/xksctl/bin/xksctl.cjs", nfastHome: "/opt/nfast", pkcs11Module: "/opt/nfast/toolkits/pkcs11/libcknfast.so", readme: "/opt/xksctl/README.md" };
  test("real paths (quoted where systemd needs it); every other template line kept", () => {
    const t = renderService(v);
    assert.match(t, /^Environment="XKS_PROXY_SETTINGS_TOML=\/srv\/xks conf\/settings\.toml"$/m);
    assert.match(t, /^ExecStart=\/usr\/local\/bin\/node \/opt\/xksctl\/bin\/xksctl\.cjs serve$/m);
    assert.match(t, /^ProtectHome=true$/m);
    const template = fs.readFileSync(SERVICE_TEMPLATE, "utf8").split("\n");
    const kept = t.split("\n").filter((l) => template.includes(l));
    assert.equal(t.split("\n").length, template.length);
    assert.ok(kept.length >= template.length - 8, "only the path lines change");
  });
  test("a setup under /root or /home keeps ProtectHome readable", () => {
    assert.match(renderService({ ...v, settingsFile: "/root/xks/settings.toml" }), /^ProtectHome=read-only$/m);
  });
  test("a template without an expected line is refused, not half rendered", () => {
    assert.throws(() => renderService(v, "[Service]\nExecStart=x\n"), /service template: expected one line matching/);
  });
});

describe("settings text", () => {
  test("nShield module protection: the template's comments, empty PIN, HSM IV, no extension keys", () => {
    const text = renderInitSettings(base);
    const doc = TOML.parse(text) as Record<string, Record<string, unknown>>;
    assert.equal(doc.pkcs11!.user_pin, "");
    assert.equal(doc.pkcs11!.user_pin_file, undefined);
    assert.deepEqual(doc.hsm_capabilities, { can_generate_iv: true, is_zero_iv_required: true });
    assert.match(text, /^# xksctl \/ AWS KMS XKS proxy settings/);
    assert.equal(settingsFromText(text, "/etc/xksctl/settings.toml", {}).pkcs11.token_label, "accelerator");
  });
  test("OCS: the PIN comes from user_pin_file (commented); a not yet written file is supplied", () => {
    const text = renderInitSettings({ ...base, tokenLabel: "xksocs", pinFile: "/etc/xksctl/ocs-pin" });
    assert.match(text, /# xksctl extension: the PIN \(the card set's passphrase\) is read from this file \(mode 0600\)\.\nuser_pin_file = "\/etc\/xksctl\/ocs-pin"\n/);
    const s = settingsFromText(text, "/etc/xksctl/settings.toml", {}, new Map([["/etc/xksctl/ocs-pin", "pass phrase\n"]]));
    assert.equal(s.pkcs11.user_pin, "pass phrase");
    assert.throws(() => settingsFromText(text, "/etc/xksctl/settings.toml", {}), (e: unknown) => (e as { code?: string }).code === "XKS_CONFIG_INVALID");
  });
  test("softhsm: softhsm2_conf relative to the file", () => {
    const text = renderInitSettings({ ...base, hsmIv: false, pin: "1234", softhsmConf: "softhsm2.conf" });
    assert.equal((TOML.parse(text) as { pkcs11: { softhsm2_conf: string } }).pkcs11.softhsm2_conf, "softhsm2.conf");
    assert.equal((settingsFromText(text, "/x/settings.toml", {}).pkcs11 as { softhsm2_conf?: string }).softhsm2_conf, "softhsm2.conf");
  });
});
