/**
 * The side effects a command may use. Commands receive a Context and never reach for
 * process.env, the clock, prompts or child processes directly, so tests can swap each one.
 */

/** Writes text to a stream (stdout or stderr). */
export interface Out {
  write(text: string): void;
}

/** Everything a command handler may touch. */
export interface Context {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: Out;
  stderr: Out;
  /** Wall clock in ms since the epoch. */
  now(): number;
  /** Interactive questions; non-interactive fallbacks throw XKS_PROMPT_NEEDED. */
  prompts: Prompts;
  /** Whether stdin/stdout are a terminal (colours, prompts). */
  interactive: boolean;
}

/** A question asked of the admin. `flag` names the option that answers it non-interactively. */
export interface Question<T> {
  message: string;
  flag: string;
  fallback?: T;
  /** Checks a typed answer: true, or the one-line reason shown before asking again. */
  validate?: (value: string) => true | string;
}

/** One choice of a select question: the value, and optionally a label and a one-line explanation. */
export interface Choice<T extends string> {
  value: T;
  name?: string;
  description?: string;
}

/** The prompt operations commands use. */
export interface Prompts {
  input(q: Question<string>): Promise<string>;
  password(q: Question<string>): Promise<string>;
  confirm(q: Question<boolean>): Promise<boolean>;
  select<T extends string>(q: Question<T> & { choices: readonly (T | Choice<T>)[] }): Promise<T>;
}
