export type RetryPolicy = { baseMs: number; maxMs: number };

/** Exponential back-off with ±20 % jitter: base, 2×base, 4×base, … capped at max. */
export function retryDelayMs(
  attempts: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const exp = policy.baseMs * 2 ** Math.max(0, Math.min(30, attempts - 1));
  const capped = Math.min(policy.maxMs, exp);
  return Math.round(capped * (0.8 + 0.4 * random()));
}
