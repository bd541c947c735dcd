import { describe, expect, it } from '@jest/globals';
import { DEFAULT_BACKOFF, delayAfterCheck, nextCheckAt } from '../../src/index.ts';

const MIN = 60_000;
const now = new Date('2026-01-01T00:00:00Z');
const farExpiry = new Date(now.getTime() + 7 * 24 * 3600_000);

describe('back-off schedule', () => {
  it('waits 1, 2, 5, 10 and 30 minutes after the first five checks, then hourly', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((k) => delayAfterCheck(DEFAULT_BACKOFF, k) / MIN)).toEqual([
      1, 2, 5, 10, 30, 60, 60, 60,
    ]);
  });

  it('never schedules the next check past time_expire while the order can still be paid', () => {
    const expiry = new Date(now.getTime() + 3 * MIN);
    const next = nextCheckAt(DEFAULT_BACKOFF, { kind: 'checked', attempt: 5, now, timeExpire: expiry });
    expect(next).toEqual(expiry);
  });

  it('keeps backing off after expiry (the close already happened or will be retried)', () => {
    const expired = new Date(now.getTime() - MIN);
    const next = nextCheckAt(DEFAULT_BACKOFF, { kind: 'checked', attempt: 2, now, timeExpire: expired });
    expect(next.getTime() - now.getTime()).toBe(2 * MIN);
  });

  it('re-checks USERPAYING soon and retries errors after the error delay', () => {
    const userPaying = nextCheckAt(DEFAULT_BACKOFF, {
      kind: 'userpaying',
      attempt: 6,
      now,
      timeExpire: farExpiry,
    });
    const error = nextCheckAt(DEFAULT_BACKOFF, { kind: 'error', attempt: 6, now, timeExpire: farExpiry });
    expect(userPaying.getTime() - now.getTime()).toBe(30_000);
    expect(error.getTime() - now.getTime()).toBe(MIN);
  });

  it('always moves the next check into the future', () => {
    const next = nextCheckAt(
      { stepsMs: [0], thenEveryMs: 0, userPayingMs: 0, errorRetryMs: 0 },
      { kind: 'checked', attempt: 1, now, timeExpire: now },
    );
    expect(next.getTime()).toBeGreaterThan(now.getTime());
  });
});
