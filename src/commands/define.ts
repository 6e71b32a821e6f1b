/** The shape every command file exports; src/cli.ts turns these into commander commands. */
import type { Context } from "../context.js";

/** One option of a command. */
export interface OptionDef {
  /** Commander flags, e.g. "--config <file>" or "--json". */
  flags: string;
  description: string;
  default?: string | boolean;
}

/** A command: name (space-separated for subcommands), options, examples and the handler. */
export interface CommandDef<O = Record<string, unknown>> {
  /** e.g. "serve" or "config validate". */
  name: string;
  /** Positional arguments in commander syntax, e.g. "<key-id>". */
  args?: string;
  description: string;
  options: readonly OptionDef[];
  /** Shown under --help; at least one. */
  examples: readonly string[];
  /** Runs the command; resolves to the exit code. */
  run(opts: O, args: string[], ctx: Context): Promise<number>;
}

/** Declares a command (identity function that keeps the types). */
export function defineCommand<O>(def: CommandDef<O>): CommandDef<O> {
  return def;
}

/** The --config option shared by every command that reads settings. */
export const CONFIG_OPTION: OptionDef = {
  flags: "-c, --config <file>",
  description: "settings TOML (default: $XKS_PROXY_SETTINGS_TOML, then configuration/bootstrap.toml)",
};

/** The --json option of every reporting command. */
export const JSON_OPTION: OptionDef = { flags: "--json", description: "print machine-readable JSON" };

/** The --store option of commands that act on one [[external_key_stores]] entry. */
export const STORE_OPTION: OptionDef = { flags: "--store <prefix>", description: "uri_path_prefix of the key store (default: the only one)" };
