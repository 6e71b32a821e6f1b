/**
 * Saves in-place edits of the settings file: applies them keeping comments and layout, refuses
 * a result that the settings validation likes less than the original, and writes atomically
 * with a backup (owner preserved). A file whose old or new text holds the PIN or a SigV4 secret
 * ends mode 0600, and so does its backup, whatever mode it had; any other keeps its mode.
 */
import { XksctlError } from "../errors.js";
import { writeFileAtomic, type AtomicWriteResult } from "../platform/atomic-write.js";
import { formatProblem, holdsInlineSecret, type SettingsDocument } from "./load.js";
import { applySettingsEdits, type SettingsEdit } from "./settings-edit.js";
import { validateSettings, type ValidateDeps } from "./validate.js";
import TOML from "@iarna/toml";

/** Problems of a parsed settings document, as comparable strings. */
function problemsOf(doc: Record<string, unknown>, file: string, deps: ValidateDeps): Set<string> {
  return new Set(validateSettings(doc, file, deps).problems.map(formatProblem));
}

/** Applies edits to a settings document and writes it; returns the write result. */
export function saveSettingsEdits(settings: SettingsDocument, edits: readonly SettingsEdit[], deps: ValidateDeps): AtomicWriteResult & { text: string } {
  const text = applySettingsEdits(settings.text, edits, settings.file);
  const doc = TOML.parse(text) as Record<string, unknown>;
  const before = problemsOf(settings.doc, settings.file, deps);
  const added = [...problemsOf(doc, settings.file, deps)].filter((p) => !before.has(p));
  if (added.length > 0) {
    throw new XksctlError("XKS_CONFIG_INVALID", `${settings.file}: the change would make the settings invalid; the file was not changed.`, { details: added });
  }
  const secret = holdsInlineSecret(settings.doc) || holdsInlineSecret(doc);
  return { ...writeFileAtomic(settings.file, text, { secret }), text };
}
