/**
 * The side effects a command may use. Commands receive a Context and never reach for
 * process.env, the clock, prompts or child processes directly, so tests can swap each one.
 */
import type { Prompts } from "./ui/dialogs.js";

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
