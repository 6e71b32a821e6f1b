/**
 * All prompts go through here. Without a terminal (or under CI) a prompt with a fallback uses it;
 * one without throws XKS_PROMPT_NEEDED naming the option to pass instead.
 */
import { XksctlError } from "../errors.js";

/** A question asked of the admin. `flag` names the option that answers it non-interactively. */
export interface Question<T> {
  message: string;
  flag: string;
  fallback?: T;
}

/** The prompt operations commands use. */
export interface Prompts {
  input(q: Question<string>): Promise<string>;
  password(q: Question<string>): Promise<string>;
  confirm(q: Question<boolean>): Promise<boolean>;
  select<T extends string>(q: Question<T> & { choices: readonly T[] }): Promise<T>;
}

function needed<T>(q: Question<T>): T {
  if (q.fallback !== undefined) return q.fallback;
  throw new XksctlError("XKS_PROMPT_NEEDED", `${q.message} (no terminal to ask on)`, { remedy: `Pass ${q.flag}.` });
}

/** Prompts that never ask: fallbacks or XKS_PROMPT_NEEDED. */
export const nonInteractivePrompts: Prompts = {
  input: async (q) => needed(q),
  password: async (q) => needed(q),
  confirm: async (q) => needed(q),
  select: async (q) => needed(q),
};

/** Prompts backed by @inquirer/prompts (loaded only when a terminal is present). */
export function terminalPrompts(): Prompts {
  const lib = () => import("@inquirer/prompts");
  return {
    input: async (q) => (await lib()).input({ message: q.message, default: q.fallback }),
    password: async (q) => (await lib()).password({ message: q.message, mask: true }),
    confirm: async (q) => (await lib()).confirm({ message: q.message, default: q.fallback }),
    select: async (q) => (await lib()).select({ message: q.message, choices: q.choices.map((c) => ({ value: c, name: c })), default: q.fallback }),
  };
}
