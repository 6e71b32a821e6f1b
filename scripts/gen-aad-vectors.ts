/**
 * Writes test/fixtures/vectors/aes-gcm-aad.json: AES-256-GCM vectors for the AAD the proxy gives
 * the HSM, made here with node:crypto from a fixed key, fixed inputs and fixed IVs, so the file is
 * the same on every run. Run `node --import tsx scripts/gen-aad-vectors.ts` after changing this
 * script (`--check` exits 1 when the committed file differs); a unit test compares the two.
 *
 * The layouts are written out from the specification documents on purpose, NOT taken from
 * src/proxy/aad.ts, so the vectors can catch a bug there:
 * - "reference" (aws-kms-xks-proxy, what xksctl uses):
 *   u16be(len(AAD)) || SHA-256(AAD) only when the AAD field is present, even empty || u8(len(CM)) || CM
 * - "spec" (the XKS API's recommended layout, §6.2): u16be(len(AAD)) || AAD || u8(len(CM)) || CM,
 *   an absent field counting as length 0 with no bytes.
 * - CDIV (§6.3): Base64(SHA-256(AAD || CM || IV || ciphertext || tag)), raw bytes, absent = empty.
 */
import { createCipheriv, createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export type Scheme = "reference" | "spec";

/** The file the vectors are written to. */
export const VECTORS_FILE = fileURLToPath(new URL("../test/fixtures/vectors/aes-gcm-aad.json", import.meta.url));

/** The AES token key's label; the test settings list it in their key set. */
const KEY_LABEL = "xks-vector-key";
/** A fixed AES-256 key made for these vectors (test data only, never a real key). */
const KEY_HEX = "d1e07c4be26b521096a3e28d2afaff4d08c60fddca8a58ca331121c0048d9d53";

/** Deterministic filler bytes: SHA-256(label/0) || SHA-256(label/1) || … cut to n bytes. */
function filler(label: string, n: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; parts.length * 32 < n; i++) parts.push(createHash("sha256").update(`${label}/${i}`).digest());
  return Buffer.concat(parts).subarray(0, n);
}

/** The AAD given to the HSM under a scheme. `aad` / `cm` undefined = the field is absent. */
export function hsmAad(scheme: Scheme, aad: Buffer | undefined, cm: Buffer | undefined): Buffer {
  const a = aad ?? Buffer.alloc(0);
  const m = cm ?? Buffer.alloc(0);
  if (a.length > 0xffff) throw new RangeError(`AAD of ${a.length} bytes does not fit the 2-byte length`);
  if (m.length > 0xff) throw new RangeError(`metadata of ${m.length} bytes does not fit the 1-byte length`);
  const aadLen = Buffer.from([a.length >> 8, a.length & 0xff]);
  const aadPart = scheme === "spec" ? a : aad === undefined ? Buffer.alloc(0) : createHash("sha256").update(a).digest();
  return Buffer.concat([aadLen, aadPart, Buffer.from([m.length]), m]);
}

/** One case: the inputs KMS would send; absent fields are undefined. */
interface Case {
  name: string;
  plaintext: Buffer;
  aad?: Buffer;
  cm?: Buffer;
}

const CASES: Case[] = [
  { name: "no-aad-no-metadata", plaintext: Buffer.from("Hello World!") },
  { name: "empty-aad-no-metadata", plaintext: Buffer.from("Hello World!"), aad: Buffer.alloc(0) },
  { name: "aad-no-metadata", plaintext: Buffer.from("plaintext\n"), aad: Buffer.from("project=nile,department=marketing") },
  { name: "aad-and-metadata", plaintext: filler("pt/aad-and-metadata", 32), aad: Buffer.from("project=blue,department=finance"), cm: Buffer.from("v0.0.1") },
  { name: "metadata-no-aad", plaintext: filler("pt/metadata-no-aad", 16), cm: Buffer.from("key_version=1") },
  { name: "empty-aad-and-metadata", plaintext: Buffer.from("data key"), aad: Buffer.alloc(0), cm: Buffer.from("v0.0.1") },
  // The largest metadata the XKS API allows (20 bytes; a proxy must refuse more on decrypt).
  { name: "metadata-20-bytes", plaintext: Buffer.from("kms!"), aad: Buffer.from("ctx"), cm: Buffer.from("key_version=00000001") },
  // The largest metadata the 1-byte length can describe: over the API's limit, so a proxy refuses
  // it before any AAD is built; kept to pin the layout at the top of the u8 range.
  { name: "metadata-255-bytes", plaintext: Buffer.from("kms!"), aad: Buffer.from("ctx"), cm: filler("cm/255", 255) },
  // 300 = 0x012c: both bytes of the AAD length are non-zero, so a byte-order slip shows.
  { name: "one-byte-plaintext-300-byte-aad", plaintext: Buffer.from([0x2a]), aad: filler("aad/300", 300) },
  // The spec minimums a proxy must handle: 4300 bytes of plaintext, 8192 bytes of AAD (0x2000).
  { name: "4300-byte-plaintext-8192-byte-aad", plaintext: filler("pt/4300", 4300), aad: filler("aad/8192", 8192), cm: Buffer.from("v0.0.1") },
];

const b64 = (b: Buffer | undefined) => (b === undefined ? null : b.toString("base64"));

function vector(scheme: Scheme, c: Case, key: Buffer): Record<string, string | null> {
  const iv = filler(`iv/${scheme}/${c.name}`, 12);
  const boundAad = hsmAad(scheme, c.aad, c.cm);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: 16 });
  cipher.setAAD(boundAad);
  const ciphertext = Buffer.concat([cipher.update(c.plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  const cdiv = createHash("sha256")
    .update(c.aad ?? Buffer.alloc(0))
    .update(c.cm ?? Buffer.alloc(0))
    .update(iv)
    .update(ciphertext)
    .update(tag)
    .digest("base64");
  return {
    scheme,
    name: c.name,
    plaintext: b64(c.plaintext),
    additionalAuthenticatedData: b64(c.aad),
    ciphertextMetadata: b64(c.cm),
    initializationVector: b64(iv),
    ciphertext: b64(ciphertext),
    authenticationTag: b64(tag),
    hsmAadHex: boundAad.toString("hex"),
    ciphertextDataIntegrityValue: cdiv,
  };
}

/** The vectors file's text, exactly as committed. */
export function renderAadVectors(): string {
  const key = Buffer.from(KEY_HEX, "hex");
  const doc = {
    about:
      "AES-256-GCM vectors for the AAD an XKS proxy gives the HSM, generated by scripts/gen-aad-vectors.ts (node:crypto, fixed key, fixed IVs). Import keyHex as an AES token key labelled keyLabel and decrypt each vector through the proxy; an absent field is null and must be omitted from the request. Metadata over 20 bytes is refused by the XKS API before the AAD is built.",
    keyLabel: KEY_LABEL,
    keyHex: KEY_HEX,
    schemes: {
      reference: "u16be(len(AAD)) || SHA-256(AAD) if the AAD field is present (even when empty) || u8(len(CM)) || CM",
      spec: "u16be(len(AAD)) || AAD || u8(len(CM)) || CM",
    },
    cdiv: "SHA-256(AAD || CM || IV || ciphertext || tag), raw bytes, no length prefixes",
    vectors: (["reference", "spec"] as const).flatMap((s) => CASES.map((c) => vector(s, c, key))),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain) {
  const text = renderAadVectors();
  const rel = path.relative(process.cwd(), VECTORS_FILE);
  if (process.argv.includes("--check")) {
    const current = fs.existsSync(VECTORS_FILE) ? fs.readFileSync(VECTORS_FILE, "utf8") : "";
    if (current !== text) {
      process.stderr.write(`${rel} is out of date; run node --import tsx scripts/gen-aad-vectors.ts\n`);
      process.exit(1);
    }
    process.stdout.write(`${rel} is up to date\n`);
  } else {
    fs.mkdirSync(path.dirname(VECTORS_FILE), { recursive: true });
    fs.writeFileSync(VECTORS_FILE, text);
    process.stdout.write(`${JSON.parse(text).vectors.length} vectors -> ${rel}\n`);
  }
}
