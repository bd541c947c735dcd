import type { KeyObject } from 'node:crypto';
import type { Clock } from '@paysync/contracts';
import { TIMESTAMP_WINDOW_SECONDS, WECHATPAY_HEADERS, WECHATPAY_SIGNATURE_TYPE } from './constants.ts';
import {
  BadSignatureError,
  MalformedError,
  MissingHeaderError,
  StaleTimestampError,
  UnknownSerialError,
  UnsupportedSignatureTypeError,
} from './errors.ts';
import { type HeaderInput, headerLookup } from './headers.ts';
import { messageSignString, rsaVerifyAsync } from './sign.ts';

/** Where verification keys come from: platform certificates, WeChat Pay public keys, or both. */
export interface VerificationKeySource {
  /** The key for `serial`, or undefined when unknown. May refresh certificates once (single flight). */
  getKey(serial: string): Promise<KeyObject | undefined>;
}

export type { Clock };

export interface SignedMessage {
  headers: HeaderInput;
  /** The body exactly as received (raw bytes); '' or an empty Buffer for a 204. */
  body: Buffer | string;
}

export interface VerifiedMessage {
  serial: string;
  timestamp: number;
  nonce: string;
  requestId: string | undefined;
}

export interface VerifyOptions {
  keys: VerificationKeySource;
  clock?: Clock;
  /** Defaults to 300 s: reject when |now − timestamp| ≥ window. */
  windowSeconds?: number;
}

const SERIAL = /^[A-Za-z0-9_-]{1,128}$/;
const TIMESTAMP = /^\d{1,12}$/;
const NONCE = /^[\x21-\x7e]{1,128}$/;

/** A header that must be present and not blank (MissingHeaderError otherwise). */
export function required(get: (name: string) => string | undefined, name: string): string {
  const value = get(name);
  if (value === undefined || value.trim() === '') throw new MissingHeaderError(name);
  return value;
}

/**
 * Verifies a WeChat-signed message (notification or API response): headers, timestamp window, then
 * the RSA signature over `timestamp\nnonce\nbody\n` with the key chosen by `Wechatpay-Serial`.
 * Cheap checks run first so that stale or malformed messages never trigger a certificate refresh.
 */
export async function verifySignedMessage(
  message: SignedMessage,
  options: VerifyOptions,
): Promise<VerifiedMessage> {
  const body = message.body;
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) throw new MalformedError('body must be raw bytes');
  const get = headerLookup(message.headers);

  const serial = required(get, WECHATPAY_HEADERS.serial);
  const signature = required(get, WECHATPAY_HEADERS.signature);
  const timestampText = required(get, WECHATPAY_HEADERS.timestamp);
  const nonce = required(get, WECHATPAY_HEADERS.nonce);
  const signatureType = get(WECHATPAY_HEADERS.signatureType);
  if (signatureType !== undefined && signatureType !== WECHATPAY_SIGNATURE_TYPE) {
    throw new UnsupportedSignatureTypeError();
  }
  if (!SERIAL.test(serial)) throw new MalformedError('Wechatpay-Serial has an invalid format');
  if (!NONCE.test(nonce)) throw new MalformedError('Wechatpay-Nonce has an invalid format');
  if (!TIMESTAMP.test(timestampText)) throw new MalformedError('Wechatpay-Timestamp is not unix seconds');

  const timestamp = Number(timestampText);
  const nowSeconds = Math.floor((options.clock ?? Date.now)() / 1000);
  const skew = nowSeconds - timestamp;
  if (Math.abs(skew) >= (options.windowSeconds ?? TIMESTAMP_WINDOW_SECONDS))
    throw new StaleTimestampError(skew);

  const key = await options.keys.getKey(serial);
  if (!key) throw new UnknownSerialError(serial);
  if (!(await rsaVerifyAsync(key, messageSignString(timestampText, nonce, body), signature)))
    throw new BadSignatureError();

  return { serial, timestamp, nonce, requestId: get(WECHATPAY_HEADERS.requestId) };
}
