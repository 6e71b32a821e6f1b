/** SigV4 credentials in KMS's formats (xks-api.md §8.1), from a CSPRNG. */
import { ACCESS_KEY_ID_RE, SECRET_RE } from "../rules.js";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding (the alphabet is exactly KMS's A-Z2-7). */
export function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** A fresh credential: 26-character access key id (128 random bits), 44-character secret (256 bits). */
export function newCredential(randomBytes: (n: number) => Buffer): { accessKeyId: string; secretAccessKey: string } {
  const accessKeyId = base32(randomBytes(16));
  const secretAccessKey = randomBytes(32).toString("base64");
  if (!ACCESS_KEY_ID_RE.test(accessKeyId) || !SECRET_RE.test(secretAccessKey)) throw new Error("credential generator produced an invalid format");
  return { accessKeyId, secretAccessKey };
}
