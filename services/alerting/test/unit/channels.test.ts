import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  dingtalkSign,
  RateLimiter,
  retryDelayMs,
  signedDingtalkUrl,
  webhookSignature,
} from '../../src/index.ts';

describe('DingTalk signature', () => {
  it('is base64 HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret, URL-encoded in the query', () => {
    const secret = 'SEC1234567890abcdef';
    const ts = 1_764_129_600_000;
    const expected = createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64');
    expect(dingtalkSign(secret, ts)).toBe(expected);
    const url = signedDingtalkUrl('https://oapi.dingtalk.com/robot/send?access_token=abc', secret, ts);
    expect(url).toContain(`&timestamp=${ts}&sign=`);
    // '+', '/' and '=' of base64 travel percent-encoded.
    expect(url.split('sign=')[1]).not.toMatch(/[+/=]/);
    expect(new URL(url).searchParams.get('sign')).toBe(expected);
    expect(new URL(url).searchParams.get('access_token')).toBe('abc');
  });

  it('leaves the URL alone when no secret is configured (keyword security)', () => {
    expect(signedDingtalkUrl('https://oapi.dingtalk.com/robot/send?access_token=abc', undefined, 1)).toBe(
      'https://oapi.dingtalk.com/robot/send?access_token=abc',
    );
  });
});

describe('webhook signature', () => {
  it('signs timestamp.body with HMAC-SHA256 in hex', () => {
    const sig = webhookSignature('k', 100, '{"a":1}');
    expect(sig).toBe(createHmac('sha256', 'k').update('100.{"a":1}').digest('hex'));
  });
});

describe('retries and rate limits', () => {
  it('backs off exponentially with jitter up to the cap', () => {
    const policy = { baseMs: 1000, maxMs: 60_000 };
    expect(retryDelayMs(1, policy, () => 0.5)).toBe(1000);
    expect(retryDelayMs(3, policy, () => 0.5)).toBe(4000);
    expect(retryDelayMs(20, policy, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(1, policy, () => 0)).toBe(800);
    expect(retryDelayMs(1, policy, () => 1)).toBe(1200);
  });

  it('allows a burst of the per-minute rate, then one message per refill period', () => {
    let now = 0;
    const limiter = new RateLimiter(20, () => now);
    for (let i = 0; i < 20; i++) expect(limiter.take()).toBe(true);
    expect(limiter.take()).toBe(false);
    now += 2999;
    expect(limiter.take()).toBe(false);
    now += 1;
    expect(limiter.take()).toBe(true);
    limiter.refund();
    expect(limiter.take()).toBe(true);
  });
});
