/** `xksctl keys test`: an AES-GCM encrypt/decrypt round trip with one key, in the HSM. */
import { CONFIG_OPTION, JSON_OPTION, defineCommand } from "./define.js";
import { defaultValidateDeps, loadSettings } from "../config/load.js";
import { operatorDeps } from "../hsm/deps.js";
import { assertKeyId } from "../hsm/keys/key-id.js";
import { roundTripKey } from "../hsm/keys/round-trip.js";
import { printJson } from "../ui/output.js";

/** The `keys test` command definition. */
export const keysTestCommand = defineCommand<{ config?: string; json?: boolean }>({
  name: "keys test",
  args: "<key-id>",
  description: "encrypt and decrypt random bytes with a key in the HSM (exit 1 unless it works and is AES-256)",
  options: [CONFIG_OPTION, JSON_OPTION],
  examples: ["xksctl keys test xks-key-1", "xksctl keys test xks-key-1 --config /etc/xksctl/settings.toml --json"],
  async run(opts, args, ctx) {
    const keyId = args[0] ?? "";
    assertKeyId(keyId);
    const { settings } = loadSettings(opts.config, defaultValidateDeps(ctx.env), ctx.cwd);
    const deps = operatorDeps(ctx);
    const hsm = await deps.openHsm(settings);
    let r;
    try {
      r = await roundTripKey(hsm, keyId, deps.randomBytes, ctx.now);
    } finally {
      await hsm.close();
    }
    const stores = settings.external_key_stores.filter((s) => s.xks_key_id_set.includes(keyId)).map((s) => s.uri_path_prefix);
    const problems: string[] = [];
    if (r.keySpec !== "AES_256") problems.push(`the key is ${r.keySpec}; XKS needs AES_256`);
    if (stores.length === 0) problems.push("no key store lists it (xks_key_id_set); KMS cannot use it yet");
    const ok = r.keySpec === "AES_256";
    if (opts.json) {
      printJson(ctx.stdout, { ...r, roundTrip: "ok", stores, usableForXks: ok && stores.length > 0, problems });
      return ok ? 0 : 1;
    }
    ctx.stdout.write(`✔ ${keyId}: AES-GCM round trip ok (${r.keySpec}, ${r.keyUsage.join(" ")}; encrypt ${r.encryptMs} ms, decrypt ${r.decryptMs} ms)\n`);
    for (const p of problems) ctx.stdout.write(`${ok ? "warning" : "✖"}: ${p}\n`);
    return ok ? 0 : 1;
  },
});
