/** SigV4 signing key derivation, cached per (secret, date, region, service): it changes once a day. */
import { createHmac } from "node:crypto";

const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();

/** Derives (and caches) the signing key. */
export class SigningKeyCache {
  private cache = new Map<string, Buffer>();

  get(secret: string, date: string, region: string, service: string): Buffer {
    const id = `${date}\0${region}\0${service}\0${secret}`;
    let key = this.cache.get(id);
    if (!key) {
      key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
      if (this.cache.size > 64) this.cache.clear();
      this.cache.set(id, key);
    }
    return key;
  }
}

/** HMAC-SHA256 of the string to sign: the signature's 32 bytes. */
export function signature(signingKey: Buffer, toSign: string): Buffer {
  return createHmac("sha256", signingKey).update(toSign).digest();
}
