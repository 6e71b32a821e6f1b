/**
 * All prompts go through here. Without a terminal (or under CI) a prompt with a fallback uses it;
 * one without throws XKS_PROMPT_NEEDED naming the option to pass instead. Ctrl-C at a prompt
 * (@inquirer's ExitPromptError) becomes XKS_INTERRUPTED: exit 130, one line, no stack trace.
 */
import type { Choice, Prompts, Question } from "../context.js";
import { XksctlError } from "../errors.js";

export type { Choice, Prompts, Question };

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

/** True for @inquirer's "the user pressed Ctrl-C" (or the prompt was aborted). */
export function isPromptCancel(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === "ExitPromptError" || name === "AbortPromptError";
}

/** Runs one prompt; Ctrl-C becomes XKS_INTERRUPTED. */
async function guarded<T>(flag: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isPromptCancel(err)) throw new XksctlError("XKS_INTERRUPTED", `Interrupted (Ctrl-C) at the question for ${flag}.`, { cause: err });
    throw err;
  }
}

/** Prompts backed by @inquirer/prompts (loaded only when a terminal is present). */
export function terminalPrompts(): Prompts {
  const lib = () => import("@inquirer/prompts");
  return {
    input: (q) => guarded(q.flag, async () => (await lib()).input({ message: q.message, default: q.fallback, ...(q.validate ? { validate: q.validate } : {}) })),
    password: (q) => guarded(q.flag, async () => (await lib()).password({ message: q.message, mask: true, ...(q.validate ? { validate: q.validate } : {}) })),
    confirm: (q) => guarded(q.flag, async () => (await lib()).confirm({ message: q.message, default: q.fallback })),
    select: (q) =>
      guarded(q.flag, async () =>
        (await lib()).select({
          message: q.message,
          choices: q.choices.map((c) => (typeof c === "string" ? { value: c, name: c } : { value: c.value, name: c.name ?? c.value, ...(c.description ? { description: c.description } : {}) })),
          default: q.fallback,
        }),
      ),
  };
}
