/**
 * The AAD given to the HSM and the Ciphertext Data Integrity Value (xks-api.md §6.2, §6.3).
 * xksctl uses the reference proxy's layout so its ciphertexts and ours decrypt both ways:
 *   u16be(len(AAD)) || SHA-256(AAD) if the AAD field is present (even empty) || u8(len(CM)) || CM
 */
import { createHash } from "node:crypto";

/** Builds the reference-layout HSM AAD. `aad` undefined = field absent. */
export function buildHsmAad(aad: Buffer | undefined, metadata: Buffer | undefined): Buffer {
  const cm = metadata ?? Buffer.alloc(0);
  const parts: Buffer[] = [];
  const len = Buffer.alloc(2);
  len.writeUInt16BE(aad?.length ?? 0);
  parts.push(len);
  if (aad !== undefined) parts.push(createHash("sha256").update(aad).digest());
  parts.push(Buffer.from([cm.length]), cm);
  return Buffer.concat(parts);
}

/** CDIV = Base64(SHA-256(AAD || CM || IV || ciphertext || tag)), raw bytes, no length prefixes. */
export function cdiv(aad: Buffer | undefined, metadata: Buffer | undefined, iv: Buffer, ciphertext: Buffer, tag: Buffer): string {
  const h = createHash("sha256");
  if (aad) h.update(aad);
  if (metadata) h.update(metadata);
  return h.update(iv).update(ciphertext).update(tag).digest("base64");
}
