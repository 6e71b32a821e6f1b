/**
 * AES-256-GCM parameters and the three IV modes of [hsm_capabilities] (reference-proxy.md §6):
 * the IV always comes from the HSM, never from the proxy's own RNG.
 */

/** Where the GCM IV comes from. */
export type IvMode =
  /** can_generate_iv = false: C_GenerateRandom(12) in the session, passed as the IV (SoftHSM). */
  | "random"
  /** can_generate_iv = true, is_zero_iv_required = true: the HSM overwrites a zero IV (nShield, CloudHSM). */
  | "hsm-zero"
  /** can_generate_iv = true, is_zero_iv_required = false: empty IV; the HSM appends it after the tag (Luna). */
  | "hsm-append";

export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;

/** The IV mode for a settings [hsm_capabilities] table. */
export function ivModeOf(caps: { can_generate_iv: boolean; is_zero_iv_required: boolean }): IvMode {
  if (!caps.can_generate_iv) return "random";
  return caps.is_zero_iv_required ? "hsm-zero" : "hsm-append";
}

/** Output buffer size for an encrypt of `n` bytes in this mode. */
export function encryptOutputLength(n: number, mode: IvMode): number {
  return n + TAG_LENGTH + (mode === "hsm-append" ? IV_LENGTH : 0);
}

/** Splits the HSM output into ciphertext, tag and (append mode) the IV. */
export function splitEncryptOutput(out: Buffer, plaintextLength: number, mode: IvMode): { ciphertext: Buffer; tag: Buffer; appendedIv?: Buffer } {
  const ciphertext = out.subarray(0, plaintextLength);
  const tag = out.subarray(plaintextLength, plaintextLength + TAG_LENGTH);
  if (mode !== "hsm-append") return { ciphertext, tag };
  return { ciphertext, tag, appendedIv: out.subarray(plaintextLength + TAG_LENGTH, plaintextLength + TAG_LENGTH + IV_LENGTH) };
}

/** IVs per C_GenerateRandom call in "random" mode. */
export const IV_BATCH = 256;

/**
 * Random IVs from the HSM's RNG, fetched IV_BATCH at a time: one C_GenerateRandom round trip
 * serves 256 Encrypts instead of one. Refills are shared: concurrent callers wait for the one
 * refill in flight. Each IV is handed out once.
 */
export class IvBatch {
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  private refill?: Promise<void>;

  /**
   * The next unused 12-byte IV (a copy: the caller may hand it to the HSM). `fill(n)` fetches `n`
   * random bytes when a refill is needed and none is in flight (on the caller's own session).
   */
  async next(fill: (n: number) => Promise<Buffer>): Promise<Buffer> {
    while (this.off + IV_LENGTH > this.buf.length) {
      this.refill ??= fill(IV_LENGTH * IV_BATCH)
        .then((b) => {
          this.buf = b;
          this.off = 0;
        })
        .finally(() => (this.refill = undefined));
      await this.refill;
    }
    const iv = Buffer.from(this.buf.subarray(this.off, this.off + IV_LENGTH));
    this.buf.fill(0, this.off, this.off + IV_LENGTH);
    this.off += IV_LENGTH;
    return iv;
  }

  /** Drops unused IVs (after a library reset). */
  clear(): void {
    this.buf = Buffer.alloc(0);
    this.off = 0;
  }
}
