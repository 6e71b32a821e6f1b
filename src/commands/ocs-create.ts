/** `xksctl ocs create`: creates an Operator Card Set with createocs on the admin's terminal. */
import { defineCommand } from "./define.js";
import { XksctlError } from "../errors.js";

/** The `ocs create` command definition. */
export const ocsCreateCommand = defineCommand<{ name?: string; quorum?: string; slot?: string; module?: string; persistent?: boolean }>({
  name: "ocs create",
  description: "create an Operator Card Set (runs createocs; its card and passphrase prompts go straight to your terminal)",
  options: [
    { flags: "--name <name>", description: "card set name" },
    { flags: "--quorum <k/n>", description: "cards needed / cards in the set, e.g. 1/1 or 2/3" },
    { flags: "--slot <slot>", description: "card reader slot to write (default: createocs's choice)" },
    { flags: "--module <n>", description: "HSM module number", default: "1" },
    { flags: "--persistent", description: "persistent card set (stays loaded after the card is removed)" },
  ],
  examples: ["xksctl ocs create --name xksocs --quorum 1/1", "xksctl ocs create --name xksocs --quorum 2/3 --slot 0 --persistent"],
  async run(opts, _args, ctx) {
    const { operatorDeps } = await import("../workflows/deps.js");
    const { checkCardSetName, parseQuorum } = await import("../hsm/nfast/createocs.js");
    const { createCardSet } = await import("../workflows/create-ocs.js");
    const { parseSmallInt } = await import("../ui/option-values.js");
    if (!opts.name) throw new XksctlError("XKS_USAGE", "--name is required");
    checkCardSetName(opts.name, "--name");
    if (!opts.quorum) throw new XksctlError("XKS_USAGE", "--quorum K/N is required");
    const { k, n } = parseQuorum(opts.quorum);
    const slot = opts.slot === undefined ? undefined : parseSmallInt(opts.slot, "--slot", 0, 255);
    const module = parseSmallInt(opts.module ?? "1", "--module", 1, 64);
    if (!ctx.interactive) {
      throw new XksctlError("XKS_PROMPT_NEEDED", "createocs asks for each card's passphrase on a terminal, and there is none.", {
        remedy: "Run `xksctl ocs create` from an interactive terminal (e.g. `ssh -t`).",
      });
    }
    const { exec } = operatorDeps(ctx);
    const name = opts.name;
    await createCardSet(exec, { name, k, n, module, ...(slot !== undefined ? { slot } : {}), persistent: Boolean(opts.persistent) }, () =>
      ctx.stderr.write(`Running createocs for card set ${name} (${k}/${n}); follow its prompts. xksctl does not see or log what you type.\n`),
    );
    ctx.stdout.write(`✔ Card set ${opts.name} (${k}/${n}) created.\n`);
    ctx.stdout.write(`Next: xksctl config cknfastrc --protection ocs, then xksctl keys create <key-id> --protect ocs --cardset ${opts.name}\n`);
    return 0;
  },
});
