import type { Clock } from './time.ts';

/** A token bucket per merchant: `qps` tokens a second, bursts up to `qps`. `qps <= 0` means unlimited. */
export class RateLimiter {
  readonly #clock: Clock;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  #qps: number;

  constructor(qps: number, clock: Clock) {
    this.#qps = qps;
    this.#clock = clock;
  }

  get qps(): number {
    return this.#qps;
  }

  setQps(qps: number): void {
    this.#qps = qps;
    this.#buckets.clear();
  }

  /** True when the call may go ahead (and takes a token). */
  take(key: string): boolean {
    if (this.#qps <= 0) return true;
    const now = this.#clock();
    const bucket = this.#buckets.get(key) ?? { tokens: this.#qps, at: now };
    bucket.tokens = Math.min(this.#qps, bucket.tokens + ((now - bucket.at) / 1000) * this.#qps);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
