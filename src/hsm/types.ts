/**
 * The HSM as the proxy and the operator verbs see it. The only production implementation is
 * PKCS#11 (src/hsm/pkcs11/); tests run it against a real SoftHSM token.
 */

/** What GetKeyMetadata reports about a key (reference derivation, reference-proxy.md §8). */
export interface KeyInfo {
  label: string;
  /** e.g. "AES_256" (key type name without CKK_, underscore, bits). */
  keySpec: string;
  /** Upper-case usages: ENCRYPT, DECRYPT, SIGN, VERIFY, WRAP, UNWRAP. */
  keyUsage: string[];
}

/** Result of an AES-GCM encrypt in the HSM. */
export interface GcmResult {
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
}

/** One token's identity, for GetHealthStatus. */
export interface TokenIdentity {
  label: string;
  manufacturerId: string;
  model: string;
  serialNumber: string;
  hardwareVersion: string;
  firmwareVersion: string;
}

/** The operations the proxy needs. `hsmAad` is the already-built AAD given to the HSM. */
export interface Hsm {
  keyMetadata(label: string): Promise<KeyInfo>;
  encrypt(label: string, plaintext: Buffer, hsmAad: Buffer): Promise<GcmResult>;
  decrypt(label: string, ciphertext: Buffer, iv: Buffer, tag: Buffer, hsmAad: Buffer): Promise<Buffer>;
  /** Every AES/secret key on the token, by label. */
  listKeys(): Promise<KeyInfo[]>;
  token(): TokenIdentity;
  /** Encrypt/decrypt round trip with a session key no KMS key uses; throws on failure. */
  selfTest(): Promise<void>;
  close(): Promise<void>;
}
