/**
 * All prompts go through here. Without a terminal (or under CI) a prompt with a fallback uses it;
 * one without throws XKS_PROMPT_NEEDED naming the option to pass instead.
 */
import type { Prompts, Question } from "../context.js";
import { XksctlError } from "../errors.js";

export type { Prompts, Question };

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
