import { randomBytes, randomUUID } from 'node:crypto';
import { buildSignedHeaders, SIGNATURE_PROBE_PREFIX } from '@paysync/wechatpay';
import type { Signer } from './platform.ts';
import { unixSeconds } from './time.ts';

export interface SignOptions {
  /** Now, in ms. */
  now: number;
  /** Seconds added to the timestamp (the skew fault). */
  skewSeconds?: number;
  /** Send a `WECHATPAY/SIGNTEST/` signature instead of a real one. */
  probe?: boolean;
}

/** A signature WeChat sends to check that merchants verify: the prefix and base64 junk. */
export function probeSignature(): string {
  return `${SIGNATURE_PROBE_PREFIX}${randomBytes(192).toString('base64')}`;
}

/** WeChat's signing headers over exactly `body` (empty for 204), plus a fresh Request-ID. */
export function signedHeaders(signer: Signer, body: string, options: SignOptions): Record<string, string> {
  return buildSignedHeaders({
    privateKey: signer.privateKey,
    serial: signer.serial,
    body,
    timestamp: unixSeconds(options.now) + (options.skewSeconds ?? 0),
    requestId: requestId(),
    ...(options.probe ? { signatureOverride: probeSignature() } : {}),
  });
}

/** Request-IDs look like WeChat's: opaque, unique per answer. */
export function requestId(): string {
  return randomUUID().replaceAll('-', '').toUpperCase();
}
