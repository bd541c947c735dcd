import type { KeyObject } from 'node:crypto';
import { WECHATPAY_HEADERS } from './constants.ts';
import { MalformedError } from './errors.ts';
import { type HeaderInput, headerLookup } from './headers.ts';
import { required, type VerifiedMessage, verifySignedMessage } from './verify-message.ts';

/**
 * Signed messages kept as evidence: what WeChat sent, exactly, so that a process other than the one
 * that received it (the ledger, days later) can check the signature itself.
 */

/** The `Wechatpay-*` headers a signature check needs, as received. */
export interface SignatureHeaders {
  serial: string;
  signature: string;
  timestamp: string;
  nonce: string;
  signatureType?: string;
}

/** A signed message: its signature headers and its exact body as UTF-8 text. */
export interface SignedEvidence {
  headers: SignatureHeaders;
  body: string;
}

/** A signed API answer (a query's 200, a 404 ORDER_NOT_EXIST) kept as evidence. */
export interface SignedAnswer extends SignedEvidence {
  status: number;
}

/** Picks the signature headers out of received headers; a missing one is MissingHeaderError. */
export function signatureHeaders(headers: HeaderInput): SignatureHeaders {
  const get = headerLookup(headers);
  const need = (name: string): string => required(get, name);
  const signatureType = get(WECHATPAY_HEADERS.signatureType);
  return {
    serial: need(WECHATPAY_HEADERS.serial),
    signature: need(WECHATPAY_HEADERS.signature),
    timestamp: need(WECHATPAY_HEADERS.timestamp),
    nonce: need(WECHATPAY_HEADERS.nonce),
    ...(signatureType !== undefined ? { signatureType } : {}),
  };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The body as text that encodes back to exactly the bytes received (a BOM included). A body that is
 * not UTF-8 cannot be kept as text and is refused: no WeChat message that paysync acts on is.
 */
export function exactText(body: Buffer | string): string {
  if (typeof body === 'string') return body;
  try {
    return UTF8.decode(body);
  } catch {
    throw new MalformedError('the body is not valid UTF-8');
  }
}

/** A received signed message as evidence. */
export function signedEvidence(headers: HeaderInput, body: Buffer | string): SignedEvidence {
  return { headers: signatureHeaders(headers), body: exactText(body) };
}

/**
 * The key that verifies `serial` for a message signed at `timestampSeconds` (undefined when none):
 * a certificate only within its validity, a public key while it is held.
 */
export type KeyAt = (serial: string, timestampSeconds: number) => Promise<KeyObject | undefined>;

/**
 * Verifies kept evidence: the same checks as for a message just received (headers, RSA signature
 * over `timestamp\nnonce\nbody\n` with the key named by the serial), except the ±300 s window —
 * evidence is checked whenever it is processed, a retry days later included. The key must have been
 * valid at the evidence's own timestamp instead.
 */
export function verifyEvidenceSignature(evidence: SignedEvidence, keyAt: KeyAt): Promise<VerifiedMessage> {
  const h = evidence.headers;
  const timestamp = Number(h.timestamp);
  return verifySignedMessage(
    {
      headers: {
        [WECHATPAY_HEADERS.serial]: h.serial,
        [WECHATPAY_HEADERS.signature]: h.signature,
        [WECHATPAY_HEADERS.timestamp]: h.timestamp,
        [WECHATPAY_HEADERS.nonce]: h.nonce,
        ...(h.signatureType !== undefined ? { [WECHATPAY_HEADERS.signatureType]: h.signatureType } : {}),
      },
      body: Buffer.from(evidence.body, 'utf8'),
    },
    { keys: { getKey: (serial) => keyAt(serial, timestamp) }, windowSeconds: Number.POSITIVE_INFINITY },
  );
}
