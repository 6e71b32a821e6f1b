/** `xksctl keys test`: an AES-GCM encrypt/decrypt round trip with one key, in the HSM. */
import { CONFIG_OPTION, JSON_OPTION, defineCommand } from "./define.js";
import { assertKeyId } from "../rules.js";

/** The `keys test` command definition. */
export const keysTestCommand = defineCommand<{ config?: string; json?: boolean }>({
  name: "keys test",
  args: "<key-id>",
  description: "encrypt and decrypt random bytes with a key in the HSM (exit 1 unless it works and is AES-256)",
  options: [CONFIG_OPTION, JSON_OPTION],
  examples: ["xksctl keys test xks-key-1", "xksctl keys test xks-key-1 --config /etc/xksctl/settings.toml --json"],
  async run(opts, args, ctx) {
    const { defaultValidateDeps, loadSettings } = await import("../config/load.js");
    const { operatorDeps } = await import("../workflows/deps.js");
    const { testKey } = await import("../workflows/test-key.js");
    const { printJson } = await import("../ui/output.js");
    const keyId = args[0] ?? "";
    assertKeyId(keyId);
    const { settings } = loadSettings(opts.config, defaultValidateDeps(ctx.env), ctx.cwd);
    const { result: r, stores, problems, ok } = await testKey(operatorDeps(ctx), settings, keyId, ctx.now);
    if (opts.json) {
      printJson(ctx.stdout, { ...r, roundTrip: "ok", stores, usableForXks: ok && stores.length > 0, problems });
      return ok ? 0 : 1;
    }
    ctx.stdout.write(`✔ ${keyId}: AES-GCM round trip ok (${r.keySpec}, ${r.keyUsage.join(" ")}; encrypt ${r.encryptMs} ms, decrypt ${r.decryptMs} ms)\n`);
    for (const p of problems) ctx.stdout.write(`${ok ? "warning" : "✖"}: ${p}\n`);
    return ok ? 0 : 1;
  },
});
