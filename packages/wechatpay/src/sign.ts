import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { InvalidKeyError } from './errors.ts';

/** `METHOD\nPATH_WITH_QUERY\ntimestamp\nnonce\nbody\n` — the string a merchant signs for a request. */
export function requestSignString(
  method: string,
  pathWithQuery: string,
  timestamp: string | number,
  nonce: string,
  body: string,
): string {
  return `${method.toUpperCase()}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

/**
 * `timestamp\nnonce\nbody\n` over the raw body bytes, as WeChat signs responses and notifications.
 * Pass the body exactly as received; never a re-serialised JSON object.
 */
export function messageSignString(timestamp: string | number, nonce: string, body: string | Buffer): Buffer {
  const bodyBytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`, 'utf8'), bodyBytes, Buffer.from('\n')]);
}

/** Reads a PEM (PKCS#1 or PKCS#8) private key, or passes a KeyObject through. */
export function toPrivateKey(key: KeyObject | string): KeyObject {
  if (typeof key !== 'string') {
    if (key.type !== 'private') throw new InvalidKeyError('expected a private key');
    return key;
  }
  try {
    return createPrivateKey(key);
  } catch (cause) {
    throw new InvalidKeyError('cannot read the private key', { cause });
  }
}

/** Reads a PEM public key, a PEM certificate or a private key (its public half); KeyObjects pass through. */
export function toPublicKey(key: KeyObject | string): KeyObject {
  if (typeof key !== 'string') return key.type === 'private' ? createPublicKey(key) : key;
  try {
    return createPublicKey(key);
  } catch (cause) {
    throw new InvalidKeyError('cannot read the public key', { cause });
  }
}

function bytes(message: string | Buffer): Buffer {
  return typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
}

/** base64(RSASSA-PKCS1-v1_5 SHA-256). */
export function rsaSign(privateKey: KeyObject | string, message: string | Buffer): string {
  return sign('sha256', bytes(message), toPrivateKey(privateKey)).toString('base64');
}

/**
 * rsaSign on libuv's threadpool (node's callback form of crypto.sign): the same signature, without
 * holding the event loop for the ~1 ms an RSA-2048 private-key operation takes. A client making
 * hundreds of signed calls a second keeps its loop free for the responses, the database and Kafka.
 */
export function rsaSignAsync(privateKey: KeyObject | string, message: string | Buffer): Promise<string> {
  const data = bytes(message);
  const key = toPrivateKey(privateKey);
  return new Promise((resolve, reject) => {
    sign('sha256', data, key, (err, signature) => {
      if (err) reject(err);
      else resolve(signature.toString('base64'));
    });
  });
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The signature bytes of a canonical base64 string, or undefined for anything else. */
function signatureBytes(signatureB64: string): Buffer | undefined {
  if (typeof signatureB64 !== 'string' || signatureB64.length === 0 || !BASE64.test(signatureB64))
    return undefined;
  const signature = Buffer.from(signatureB64, 'base64');
  // Only the canonical encoding: base64 with other unused bits in its last character decodes to
  // the same bytes, and a header WeChat did not send must not verify.
  return signature.toString('base64') === signatureB64 ? signature : undefined;
}

function verifyKey(publicKey: KeyObject | string): KeyObject {
  // A KeyObject goes to verify() as it is (a private key verifies with its public half).
  return typeof publicKey === 'string' ? toPublicKey(publicKey) : publicKey;
}

/** True only for a valid signature in canonical base64. Never throws: junk input is `false`. */
export function rsaVerify(
  publicKey: KeyObject | string,
  message: string | Buffer,
  signatureB64: string,
): boolean {
  try {
    const signature = signatureBytes(signatureB64);
    if (signature === undefined) return false;
    return verify('sha256', bytes(message), verifyKey(publicKey), signature);
  } catch {
    return false;
  }
}

/**
 * rsaVerify on libuv's threadpool (crypto.verify's callback form), for servers that verify every
 * request: the RSA operation runs beside the event loop. Never rejects: junk input is `false`.
 */
export function rsaVerifyAsync(
  publicKey: KeyObject | string,
  message: string | Buffer,
  signatureB64: string,
): Promise<boolean> {
  try {
    const signature = signatureBytes(signatureB64);
    if (signature === undefined) return Promise.resolve(false);
    const data = bytes(message);
    const key = verifyKey(publicKey);
    return new Promise((resolve) => {
      verify('sha256', data, key, signature, (err, ok) => resolve(!err && ok));
    });
  } catch {
    return Promise.resolve(false);
  }
}

/** 32 upper-case hex characters from a CSPRNG, like WeChat's own nonces. */
export function randomNonce(random: (size: number) => Buffer = randomBytes): string {
  return random(16).toString('hex').toUpperCase();
}
