import { describe, expect, it } from '@jest/globals';
import { AdaptiveRateLimiter } from '../../src/index.ts';

/** A limiter on a virtual clock: sleeping advances time instantly. */
function virtual(qps: number, extra: Partial<ConstructorParameters<typeof AdaptiveRateLimiter>[0]> = {}) {
  let now = 0;
  const limiter = new AdaptiveRateLimiter({
    qps,
    clock: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    ...extra,
  });
  return { limiter, now: () => now, advance: (ms: number) => (now += ms) };
}

describe('adaptive rate limiter', () => {
  it('lets calls through at the configured rate', async () => {
    const v = virtual(100);
    for (let i = 0; i < 500; i++) await v.limiter.acquire();
    // 500 calls at 100/s take about 5 s (a small burst may start early).
    expect(v.now()).toBeGreaterThanOrEqual(4900);
    expect(v.now()).toBeLessThanOrEqual(5100);
  });

  it('serves concurrent callers without exceeding the rate', async () => {
    const v = virtual(50);
    await Promise.all(Array.from({ length: 100 }, () => v.limiter.acquire()));
    expect(v.now()).toBeGreaterThanOrEqual(1900);
    expect(v.limiter.stats().acquired).toBe(100);
  });

  it('halves the rate on a 429 and never goes below the minimum', () => {
    const v = virtual(400, { minQps: 60 });
    v.limiter.onRateLimited();
    expect(v.limiter.currentQps).toBe(200);
    v.limiter.onRateLimited();
    v.limiter.onRateLimited();
    v.limiter.onRateLimited();
    expect(v.limiter.currentQps).toBe(60);
    expect(v.limiter.stats()).toMatchObject({ rateLimited: 4, minQpsSeen: 60, configuredQps: 400 });
  });

  it('slows calls down after a 429', async () => {
    const v = virtual(100);
    for (let i = 0; i < 10; i++) await v.limiter.acquire();
    v.limiter.onRateLimited();
    const before = v.now();
    for (let i = 0; i < 50; i++) await v.limiter.acquire();
    // 50 calls at 50/s: about a second, not half of one.
    expect(v.now() - before).toBeGreaterThanOrEqual(950);
  });

  it('recovers the configured rate once the 429s stop', async () => {
    const v = virtual(100, { cooldownMs: 1000, recoverEveryMs: 100 });
    v.limiter.onRateLimited();
    expect(v.limiter.currentQps).toBe(50);
    for (let i = 0; i < 400; i++) await v.limiter.acquire();
    expect(v.limiter.currentQps).toBe(100);
  });
});
