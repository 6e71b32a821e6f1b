/**
 * One question of init at a time. An answer given (flag or --answers) is used as is; otherwise a
 * terminal asks, with the default found by looking at the machine; otherwise --yes takes the
 * default; otherwise init stops with XKS_PROMPT_NEEDED (exit 2) naming the flag.
 */
import type { Choice, Prompts } from "../../context.js";
import { XksctlError, isXksctlError } from "../../errors.js";
import { ANSWER_KEYS, type AnswerKey, type Answers } from "./answers.js";

/** How init gets its answers. */
export interface Dialog {
  answers: Answers;
  /** A terminal is attached. */
  interactive: boolean;
  /** --yes: take the defaults, confirm the summary. */
  yes: boolean;
  prompts: Prompts;
}

function needed(key: AnswerKey, message: string, hasDefault: boolean): XksctlError {
  const flag = ANSWER_KEYS[key] === "boolean" ? `--${key}` : `--${key} VALUE`;
  return new XksctlError("XKS_PROMPT_NEEDED", `${message.replace(/[?:]$/, "")}: no terminal to ask on, and no --${key} given.`, {
    remedy: `Pass ${flag} (or put "${key}" in --answers FILE)${hasDefault && key !== "yes" ? ", or --yes to take the default" : ""}.`,
  });
}

/** The reason `parse` refuses a value, for a prompt that asks again. */
function reason(parse: (raw: string) => unknown, raw: string): true | string {
  try {
    parse(raw);
    return true;
  } catch (err) {
    if (isXksctlError(err)) return err.message;
    throw err;
  }
}

/** A text answer, parsed (and re-asked on a terminal until `parse` accepts it). */
export async function askText<T>(d: Dialog, key: AnswerKey, q: { message: string; default?: string; parse: (raw: string) => T }): Promise<T> {
  const given = d.answers[key];
  if (given !== undefined) return q.parse(String(given));
  if (d.interactive && !d.yes) {
    const raw = await d.prompts.input({ message: q.message, flag: `--${key}`, ...(q.default !== undefined ? { fallback: q.default } : {}), validate: (v) => reason(q.parse, v) });
    return q.parse(raw);
  }
  if (d.yes && q.default !== undefined) return q.parse(q.default);
  throw needed(key, q.message, q.default !== undefined);
}

/** One of a few values; an answer must be one of them. */
export async function askChoice<T extends string>(d: Dialog, key: AnswerKey, q: { message: string; choices: readonly Choice<T>[]; default?: T }): Promise<T> {
  const given = d.answers[key];
  const values = q.choices.map((c) => c.value);
  if (given !== undefined) {
    if (!values.includes(String(given) as T)) throw new XksctlError("XKS_USAGE", `--${key} must be one of ${values.join(", ")}, got ${JSON.stringify(given)}`);
    return String(given) as T;
  }
  if (d.interactive && !d.yes) return d.prompts.select<T>({ message: q.message, flag: `--${key}`, choices: q.choices, ...(q.default !== undefined ? { fallback: q.default } : {}) });
  if (d.yes && q.default !== undefined) return q.default;
  throw needed(key, q.message, q.default !== undefined);
}

/**
 * A yes/no question; the answer is a switch. Without a terminal an unanswered switch is its
 * default (an absent flag is "no"), except a `required` one (the summary's confirmation).
 */
export async function askYesNo(d: Dialog, key: AnswerKey, q: { message: string; default: boolean; required?: boolean }): Promise<boolean> {
  const given = d.answers[key];
  if (given !== undefined) return given === true || given === "true";
  if (d.yes) return key === "yes" ? true : q.default;
  if (d.interactive) return d.prompts.confirm({ message: q.message, flag: `--${key}`, fallback: q.default });
  if (q.required) throw needed(key, q.message, false);
  return q.default;
}

/** A secret typed twice on the terminal (never from --answers: use a file option instead). */
export async function askSecretTwice(d: Dialog, flag: string, q: { message: string; again: string; validate?: (v: string) => true | string }): Promise<string> {
  if (!d.interactive) throw new XksctlError("XKS_PROMPT_NEEDED", `${q.message}: no terminal to type it on.`, { remedy: `Pass ${flag} FILE (a file holding it, mode 0600).` });
  for (;;) {
    const first = await d.prompts.password({ message: q.message, flag, ...(q.validate ? { validate: q.validate } : {}) });
    const second = await d.prompts.password({ message: q.again, flag });
    if (first === second) return first;
    await d.prompts.confirm({ message: "The two entries differ. Press Enter to type them again", flag, fallback: true });
  }
}
