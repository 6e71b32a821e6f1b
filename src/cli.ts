/**
 * The command-line entry: the only module that knows commander. It turns every CommandDef from
 * src/commands/index.ts into a commander command, runs it, and renders errors in one place.
 */
import { Command, CommanderError } from "commander";
import { COMMANDS, GROUPS } from "./commands/index.js";
import type { CommandDef } from "./commands/define.js";
import type { Context } from "./context.js";
import { nonInteractivePrompts, terminalPrompts } from "./ui/dialogs.js";

import { VERSION } from "./version.js";

/** Builds the commander program; fails on duplicate command names. */
export function buildProgram(ctx: Context, setExit: (code: number) => void): Command {
  const program = new Command("xksctl")
    .description("AWS KMS External Key Store proxy and operator tools for nShield HSMs")
    .version(VERSION)
    .option("--debug", "print stack traces of internal errors")
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) })
    .showHelpAfterError();
  const seen = new Set<string>();
  for (const def of COMMANDS as readonly CommandDef<Record<string, unknown>>[]) {
    if (seen.has(def.name)) throw new Error(`duplicate command ${def.name}`);
    seen.add(def.name);
    attach(program, def, ctx, setExit);
  }
  return program;
}

function attach(program: Command, def: CommandDef<Record<string, unknown>>, ctx: Context, setExit: (c: number) => void): void {
  const words = def.name.split(" ");
  let parent = program;
  for (const w of words.slice(0, -1)) {
    parent = parent.commands.find((c) => c.name() === w) ?? parent.command(w).description(groupDescription(w)).exitOverride();
  }
  const cmd = parent.command(words.at(-1)! + (def.args ? ` ${def.args}` : "")).description(def.description).exitOverride();
  for (const o of def.options) cmd.option(o.flags, o.description, o.default as string | boolean | undefined);
  cmd.addHelpText("after", `\nExamples:\n${def.examples.map((e) => `  $ ${e}`).join("\n")}\n`);
  cmd.action(async (...all: unknown[]) => {
    const opts = (all.at(-2) ?? {}) as Record<string, unknown>;
    const args = all.slice(0, -2).flatMap((a) => (Array.isArray(a) ? a.map(String) : a === undefined ? [] : [String(a)]));
    setExit(await def.run(opts, args, ctx));
  });
}

function groupDescription(group: string): string {
  const d = GROUPS[group];
  if (!d) throw new Error(`command group ${group} has no description in src/commands/index.ts GROUPS`);
  return d;
}

/** Runs the CLI with argv (without node and script); resolves to the exit code. */
export async function runCli(argv: string[], ctx: Context): Promise<number> {
  let code = 0;
  const json = argv.includes("--json");
  const debug = argv.includes("--debug");
  try {
    const program = buildProgram(ctx, (c) => (code = c));
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return 0;
      return err.exitCode === 0 ? 0 : 2;
    }
    const { renderError } = await import("./ui/output.js");
    return renderError(err, ctx.stderr, { json, debug });
  }
}

/** The Context of a real process. */
export function processContext(): Context {
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !process.env.CI;
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: { write: (s) => void process.stdout.write(s) },
    stderr: { write: (s) => void process.stderr.write(s) },
    now: () => Date.now(),
    prompts: interactive ? terminalPrompts() : nonInteractivePrompts,
    interactive,
  };
}

/** After a failed command, how long the process may still be kept alive by something it started. */
const EXIT_AFTER_FAILURE_MS = 3000;

/** Process entry used by bin/xksctl.cjs. */
export async function main(): Promise<void> {
  const code = await runCli(process.argv.slice(2), processContext());
  process.exitCode = code;
  // A failed command has printed its error. An HSM call that never returned (XKS_HSM_OPEN_TIMEOUT)
  // still holds the native driver, which keeps the event loop alive: exit anyway. The timer is
  // unref'd, so a process that ends by itself is not held up by it.
  if (code !== 0) setTimeout(() => process.exit(code), EXIT_AFTER_FAILURE_MS).unref();
}



