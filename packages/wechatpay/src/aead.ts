import { createCipheriv, createDecipheriv, createSecretKey, KeyObject } from 'node:crypto';
import { DecryptFailedError, InvalidKeyError } from './errors.ts';

const TAG_LENGTH = 16;

/** The APIv3 key as given: its 32 UTF-8 bytes, the bytes themselves, or a secret KeyObject of them. */
export type ApiV3Key = string | Buffer | KeyObject;

/** The APIv3 key is used as its raw 32 bytes; anything else is refused. */
export function apiV3KeyBytes(apiV3Key: string | Buffer): Buffer {
  const bytes = typeof apiV3Key === 'string' ? Buffer.from(apiV3Key, 'utf8') : apiV3Key;
  if (bytes.length !== 32) throw new InvalidKeyError('the APIv3 key must be exactly 32 bytes');
  return bytes;
}

/**
 * The APIv3 key as a secret KeyObject, checked once. Node's ciphers take a KeyObject as it is, while a
 * Buffer key is imported again on every call (measured: a quarter of a notification's decryption).
 */
export function apiV3SecretKey(apiV3Key: ApiV3Key): KeyObject {
  if (apiV3Key instanceof KeyObject) {
    if (apiV3Key.type !== 'secret' || apiV3Key.symmetricKeySize !== 32) {
      throw new InvalidKeyError('the APIv3 key must be exactly 32 bytes');
    }
    return apiV3Key;
  }
  return createSecretKey(apiV3KeyBytes(apiV3Key));
}

function ivBytes(nonce: string): Buffer {
  const iv = Buffer.from(nonce, 'utf8');
  if (iv.length === 0) throw new DecryptFailedError('empty AES-GCM nonce');
  return iv;
}

/** AES-256-GCM as WeChat uses it: returns base64(ciphertext ‖ 16-byte tag). */
export function aesGcmEncrypt(
  apiV3Key: ApiV3Key,
  nonce: string,
  associatedData: string,
  plaintext: string | Buffer,
): string {
  const key = apiV3SecretKey(apiV3Key);
  const cipher = createCipheriv('aes-256-gcm', key, ivBytes(nonce), { authTagLength: TAG_LENGTH });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  return Buffer.concat([cipher.update(data), cipher.final(), cipher.getAuthTag()]).toString('base64');
}

/**
 * Strict base64 decoding: Buffer.from skips characters outside the alphabet and ignores unused bits,
 * so only a string that the decoded bytes encode back to exactly is base64 here (padding included).
 */
function strictBase64(text: string): Buffer | undefined {
  const raw = Buffer.from(text, 'base64');
  return raw.toString('base64') === text ? raw : undefined;
}

/** Decrypts base64(ciphertext ‖ tag). Any failure (bad base64, short input, tag mismatch) is DecryptFailedError. */
export function aesGcmDecrypt(
  apiV3Key: ApiV3Key,
  nonce: string,
  associatedData: string,
  ciphertextB64: string,
): Buffer {
  const key = apiV3SecretKey(apiV3Key);
  const raw = typeof ciphertextB64 === 'string' ? strictBase64(ciphertextB64) : undefined;
  if (raw === undefined) throw new DecryptFailedError('ciphertext is not base64');
  if (raw.length < TAG_LENGTH) throw new DecryptFailedError('ciphertext shorter than the GCM tag');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, ivBytes(nonce), { authTagLength: TAG_LENGTH });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_LENGTH));
    return Buffer.concat([decipher.update(raw.subarray(0, raw.length - TAG_LENGTH)), decipher.final()]);
  } catch (cause) {
    if (cause instanceof DecryptFailedError) throw cause;
    throw new DecryptFailedError('AES-256-GCM tag mismatch (wrong APIv3 key or tampered resource)', {
      cause,
    });
  }
}
