/** One rule for `*_file` paths: $CREDENTIALS_DIRECTORY, absolute, or relative to the settings file's folder. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import TOML from "@iarna/toml";
import { checkSettingsFile, defaultValidateDeps, formatProblem, holdsInlineSecret } from "../../../src/config/load.js";
import { resolveSettingsPath } from "../../../src/config/paths.js";
import { CREDS, testSettings } from "../../helpers/settings.js";
import { tempDir } from "../../helpers/tmp.js";

let dir: string;
before(() => (dir = tempDir("xksctl-paths-")));

describe("resolveSettingsPath", () => {
  test("relative: the settings file's folder, never the working directory", () => {
    assert.deepEqual(resolveSettingsPath("pin", "/etc/xksctl/settings.toml", {}), { ok: true, path: "/etc/xksctl/pin" });
    assert.deepEqual(resolveSettingsPath("../s/x", "/etc/xksctl/settings.toml", {}), { ok: true, path: "/etc/s/x" });
    assert.deepEqual(resolveSettingsPath("/run/x", "/etc/xksctl/settings.toml", {}), { ok: true, path: "/run/x" });
  });
  test("$CREDENTIALS_DIRECTORY (both spellings) from the environment; unset is a reason, not a guess", () => {
    const env = { CREDENTIALS_DIRECTORY: "/run/credentials/xksctl.service" };
    assert.deepEqual(resolveSettingsPath("$CREDENTIALS_DIRECTORY/user_pin", "/etc/xksctl/settings.toml", env), { ok: true, path: "/run/credentials/xksctl.service/user_pin" });
    assert.deepEqual(resolveSettingsPath("${CREDENTIALS_DIRECTORY}/sigv4", "/etc/xksctl/settings.toml", env), { ok: true, path: "/run/credentials/xksctl.service/sigv4" });
    const r = resolveSettingsPath("$CREDENTIALS_DIRECTORY/user_pin", "/etc/xksctl/settings.toml", {});
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /\$CREDENTIALS_DIRECTORY is unset/);
    // Only that variable, and only as the whole first component.
    assert.deepEqual(resolveSettingsPath("$CREDENTIALS_DIRECTORYX/a", "/e/settings.toml", env), { ok: true, path: "/e/$CREDENTIALS_DIRECTORYX/a" });
  });
});

describe("validation reads *_file secrets by that rule (serve and every command)", () => {
  const write = (sub: string, doc: Record<string, unknown>) => {
    const d = path.join(dir, sub);
    fs.mkdirSync(d, { recursive: true });
    const f = path.join(d, "settings.toml");
    fs.writeFileSync(f, TOML.stringify(doc as TOML.JsonMap), { mode: 0o600 });
    return f;
  };
  const base = (pkcs11: Record<string, unknown>, store: Record<string, unknown>) => {
    const d = testSettings({ module: "/x.so", tokenLabel: "t", pin: "" });
    (d.pkcs11 as Record<string, unknown>) = { ...(d.pkcs11 as object), ...pkcs11 };
    d.external_key_stores = [{ uri_path_prefix: "/p", xks_key_id_set: ["k"], ...store }];
    delete (d.pkcs11 as Record<string, unknown>).user_pin;
    return d;
  };

  test("relative files next to the settings are found from another working directory (the process's cwd is not used)", () => {
    const f = write("rel", base({ user_pin_file: "pin" }, { sigv4_access_key_id: CREDS.main.id, sigv4_secret_access_key_file: "secrets/sigv4", sigv4_additional_credentials: [{ sigv4_access_key_id: CREDS.rotated.id, sigv4_secret_access_key_file: "secrets/next" }] }));
    fs.writeFileSync(path.join(dir, "rel/pin"), "4321\n");
    fs.mkdirSync(path.join(dir, "rel/secrets"));
    fs.writeFileSync(path.join(dir, "rel/secrets/sigv4"), `${CREDS.main.secret}\n`);
    fs.writeFileSync(path.join(dir, "rel/secrets/next"), `${CREDS.rotated.secret}\n`);
    assert.notEqual(process.cwd(), path.join(dir, "rel"));
    const r = checkSettingsFile(f, defaultValidateDeps({}));
    assert.deepEqual(r.problems.map(formatProblem), []);
    assert.equal(r.settings!.pkcs11.user_pin, "4321");
    assert.deepEqual(r.settings!.external_key_stores[0]!.credentials, [
      { accessKeyId: CREDS.main.id, secretAccessKey: CREDS.main.secret },
      { accessKeyId: CREDS.rotated.id, secretAccessKey: CREDS.rotated.secret },
    ]);
  });

  test("systemd credentials: read from $CREDENTIALS_DIRECTORY; without it, the problem says so", () => {
    const creds = path.join(dir, "credentials");
    fs.mkdirSync(creds);
    fs.writeFileSync(path.join(creds, "user_pin"), "9876\n");
    fs.writeFileSync(path.join(creds, "sigv4"), CREDS.main.secret);
    const f = write("cred", base({ user_pin_file: "$CREDENTIALS_DIRECTORY/user_pin" }, { sigv4_access_key_id: CREDS.main.id, sigv4_secret_access_key_file: "$CREDENTIALS_DIRECTORY/sigv4" }));
    const ok = checkSettingsFile(f, defaultValidateDeps({ CREDENTIALS_DIRECTORY: creds }));
    assert.deepEqual(ok.problems.map(formatProblem), []);
    assert.equal(ok.settings!.pkcs11.user_pin, "9876");
    assert.equal(ok.settings!.external_key_stores[0]!.credentials[0]!.secretAccessKey, CREDS.main.secret);
    const unset = checkSettingsFile(f, defaultValidateDeps({})).problems.map(formatProblem);
    assert.ok(unset.includes('[pkcs11].user_pin_file: expected a readable file holding the secret, got "$CREDENTIALS_DIRECTORY/user_pin" ($CREDENTIALS_DIRECTORY is unset (it is set by systemd for a unit with LoadCredential= lines))'), unset.join("\n"));
    assert.ok(unset.some((p) => p.startsWith("external_key_stores[0].sigv4_secret_access_key_file: expected a readable file")), unset.join("\n"));
  });

  test("holdsInlineSecret sees the PIN, a store's secret and an additional credential's secret", () => {
    assert.equal(holdsInlineSecret({ pkcs11: { user_pin: "" }, external_key_stores: [{ sigv4_secret_access_key_file: "x" }] }), false);
    assert.equal(holdsInlineSecret({ pkcs11: { user_pin: "1" } }), true);
    assert.equal(holdsInlineSecret({ external_key_stores: [{ sigv4_secret_access_key: "s" }] }), true);
    assert.equal(holdsInlineSecret({ external_key_stores: [{ sigv4_secret_access_key_file: "x", sigv4_additional_credentials: [{ sigv4_secret_access_key: "s" }] }] }), true);
  });
});
