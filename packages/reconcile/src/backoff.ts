/**
 * When an order is checked again. The k-th check of an order schedules the next one
 * `stepsMs[k-1]` later, then every `thenEveryMs`; never later than the order's time_expire while it
 * is still payable, so the close happens on time. USERPAYING is re-checked soon; an error is retried
 * after `errorRetryMs` without counting as a check.
 */
export type BackoffPolicy = {
  stepsMs: readonly number[];
  thenEveryMs: number;
  userPayingMs: number;
  errorRetryMs: number;
};

const MINUTE = 60_000;

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({
  stepsMs: Object.freeze([1 * MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 30 * MINUTE]),
  thenEveryMs: 60 * MINUTE,
  userPayingMs: 30_000,
  errorRetryMs: 1 * MINUTE,
});

/** The delay after an order's `attempt`-th check (1-based). */
export function delayAfterCheck(policy: BackoffPolicy, attempt: number): number {
  const k = Math.max(1, Math.floor(attempt));
  return policy.stepsMs[k - 1] ?? policy.thenEveryMs;
}

export type ScheduleKind = 'checked' | 'userpaying' | 'error';

/** The next check of an order that stays pending. */
export function nextCheckAt(
  policy: BackoffPolicy,
  input: { kind: ScheduleKind; attempt: number; now: Date; timeExpire: Date },
): Date {
  const delay =
    input.kind === 'error'
      ? policy.errorRetryMs
      : input.kind === 'userpaying'
        ? Math.min(policy.userPayingMs, delayAfterCheck(policy, input.attempt))
        : delayAfterCheck(policy, input.attempt);
  const now = input.now.getTime();
  const expire = input.timeExpire.getTime();
  let next = now + delay;
  // While it can still be paid, check again at expiry at the latest: that check closes it.
  if (now < expire && next > expire) next = expire;
  return new Date(Math.max(next, now + 1));
}
