/** XKS external key ids: KMS's rule (xks-api.md §3) plus the dot-segment exclusion. */
import { KEY_ID_RE } from "../../config/schema.js";
import { XksctlError } from "../../errors.js";

/** Throws XKS_KEY_INVALID_ID unless `id` is 1-128 of A-Za-z0-9-._ and not `.` or `..`. */
export function assertKeyId(id: string): void {
  if (id === "." || id === "..") {
    throw new XksctlError("XKS_KEY_INVALID_ID", `Key id ${JSON.stringify(id)} is a path dot-segment: KMS clients normalise it away, so it could never be addressed.`);
  }
  if (!KEY_ID_RE.test(id)) {
    const bad = [...new Set([...id].filter((c) => !/[A-Za-z0-9._-]/.test(c)))].map((c) => JSON.stringify(c)).join(" ");
    const why = id.length === 0 ? "it is empty" : id.length > 128 ? `it has ${id.length} characters (at most 128)` : `it contains ${bad}`;
    throw new XksctlError("XKS_KEY_INVALID_ID", `Key id ${JSON.stringify(id.length > 60 ? `${id.slice(0, 57)}...` : id)} is not a valid XKS key id: ${why}.`);
  }
}
