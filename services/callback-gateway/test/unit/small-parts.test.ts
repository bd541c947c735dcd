import { describe, expect, it } from '@jest/globals';
import { v2TimeEnd } from '@paysync/orders';
import {
  BadSignatureError,
  DecryptFailedError,
  MalformedError,
  MissingHeaderError,
  StaleTimestampError,
  UnknownSerialError,
} from '@paysync/wechatpay';
import { BusyError, callbackFailure, MerchantMismatchError, PublishFailedError } from '../../src/errors.ts';
import { scopeOf, tokenMatches } from '../../src/http/auth.ts';
import { MinIntervalLimiter } from '../../src/rate-limit.ts';

describe('callback status mapping', () => {
  it.each([
    [new MissingHeaderError('Wechatpay-Signature'), 401, 'MISSING_HEADER'],
    [new BadSignatureError(), 401, 'BAD_SIGNATURE'],
    [new StaleTimestampError(301), 401, 'STALE_TIMESTAMP'],
    [new UnknownSerialError('ABC'), 401, 'UNKNOWN_SERIAL'],
    [new MalformedError('x'), 400, 'MALFORMED'],
    [new DecryptFailedError(), 400, 'DECRYPT_FAILED'],
    [new MerchantMismatchError('mchid'), 403, 'MERCHANT_MISMATCH'],
    [
      Object.assign(new Error('too large'), { type: 'entity.too.large', status: 413 }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [Object.assign(new Error('aborted'), { type: 'request.aborted', status: 400 }), 400, 'BAD_REQUEST'],
    [new PublishFailedError('timeout'), 503, 'KAFKA_UNAVAILABLE'],
    [new BusyError(), 503, 'BUSY'],
    [new Error('boom'), 500, 'INTERNAL_ERROR'],
  ])('answers %p with %i %s', (err, status, code) => {
    expect(callbackFailure(err)).toMatchObject({ status, code });
  });
});

describe('bearer tokens', () => {
  const tokens = { write: 'w'.repeat(32), read: 'r'.repeat(32) };

  it('grants write for the write token and read for the read token', () => {
    expect(scopeOf(`Bearer ${'w'.repeat(32)}`, tokens)).toBe('write');
    expect(scopeOf(`Bearer ${'r'.repeat(32)}`, tokens)).toBe('read');
  });

  it('grants nothing for a wrong, missing or differently framed token', () => {
    expect(scopeOf(`Bearer ${'w'.repeat(31)}`, tokens)).toBeUndefined();
    expect(scopeOf(undefined, tokens)).toBeUndefined();
    expect(scopeOf('w'.repeat(32), tokens)).toBeUndefined();
    expect(scopeOf(`Basic ${'w'.repeat(32)}`, tokens)).toBeUndefined();
    expect(scopeOf('Bearer ', { write: tokens.write })).toBeUndefined();
  });

  it('compares tokens of different lengths without throwing', () => {
    expect(tokenMatches('a', 'a'.repeat(100))).toBe(false);
    expect(tokenMatches('abc', 'abc')).toBe(true);
  });
});

describe('confirm rate limit', () => {
  it('allows one confirmation per order per interval, independently per order', () => {
    let now = 1_000;
    const limiter = new MinIntervalLimiter({ intervalMs: 2000, clock: () => now });
    expect(limiter.take('A')).toBe(0);
    expect(limiter.take('B')).toBe(0);
    now += 500;
    expect(limiter.take('A')).toBe(1500);
    now += 1500;
    expect(limiter.take('A')).toBe(0);
  });

  it('keeps its memory bounded, sweeping expired orders first', () => {
    let now = 0;
    const limiter = new MinIntervalLimiter({ intervalMs: 1000, maxKeys: 2, clock: () => now });
    expect(limiter.take('A')).toBe(0);
    expect(limiter.take('B')).toBe(0);
    expect(limiter.take('C')).toBe(1000);
    now = 1000;
    expect(limiter.take('C')).toBe(0);
  });
});

describe('APIv2 time_end', () => {
  it('turns yyyyMMddHHmmss Beijing time into RFC 3339', () => {
    expect(v2TimeEnd('20260301102030')).toBe('2026-03-01T10:20:30+08:00');
    expect(v2TimeEnd('2026-03-01')).toBeUndefined();
    expect(v2TimeEnd(undefined)).toBeUndefined();
  });
});
