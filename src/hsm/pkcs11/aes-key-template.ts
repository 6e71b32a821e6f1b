/** The attribute template of an XKS AES-256 key: secret, non-extractable, encrypt and decrypt. */
import {
  CKA_CLASS,
  CKA_DECRYPT,
  CKA_ENCRYPT,
  CKA_EXTRACTABLE,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_PRIVATE,
  CKA_SENSITIVE,
  CKA_TOKEN,
  CKA_VALUE_LEN,
  CKK_AES,
  CKO_SECRET_KEY,
  boolAttr,
  stringAttr,
  ulongAttr,
  type Attr,
} from "./native.js";

/** Template for C_GenerateKey; `token: false` makes a session key (the health-check key). */
export function aesKeyTemplate(label: string, token: boolean): Attr[] {
  return [
    ulongAttr(CKA_CLASS, CKO_SECRET_KEY),
    ulongAttr(CKA_KEY_TYPE, CKK_AES),
    ulongAttr(CKA_VALUE_LEN, 32),
    stringAttr(CKA_LABEL, label),
    boolAttr(CKA_TOKEN, token),
    boolAttr(CKA_PRIVATE, true),
    boolAttr(CKA_SENSITIVE, true),
    boolAttr(CKA_EXTRACTABLE, false),
    boolAttr(CKA_ENCRYPT, true),
    boolAttr(CKA_DECRYPT, true),
  ];
}
