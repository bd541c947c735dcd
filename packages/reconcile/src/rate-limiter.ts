import { setTimeout as sleepTimer } from 'node:timers/promises';
import type { Clock } from '@paysync/contracts';

export type RateLimiterOptions = {
  /** The configured query rate (calls per second). */
  qps: number;
  /** Tokens that may accumulate while idle. Default: 1/20 s of calls (at least 2). */
  burst?: number;
  /** The rate never drops below this after 429s. Default qps / 16 (at least 1). */
  minQps?: number;
  /** After a 429 the rate stays lowered at least this long before it recovers. Default 5 s. */
  cooldownMs?: number;
  /** Recovery: every this long without a 429 the rate grows by a tenth of qps. Default 2 s. */
  recoverEveryMs?: number;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
};

export type RateLimiterStats = {
  configuredQps: number;
  currentQps: number;
  minQpsSeen: number;
  rateLimited: number;
  acquired: number;
};

/**
 * A token bucket at the configured rate that halves itself when WeChat answers 429 and recovers
 * additively once the 429s stop (AIMD). Waiters are served in arrival order.
 */
export class AdaptiveRateLimiter {
  readonly #qps: number;
  readonly #burst: number;
  readonly #minQps: number;
  readonly #cooldownMs: number;
  readonly #recoverEveryMs: number;
  readonly #clock: Clock;
  readonly #sleep: (ms: number) => Promise<void>;
  #rate: number;
  #tokens: number;
  #at: number;
  #calmSince: number;
  #lastRecover: number;
  #tail: Promise<void> = Promise.resolve();
  #stats = { minQpsSeen: 0, rateLimited: 0, acquired: 0 };

  constructor(options: RateLimiterOptions) {
    if (!(options.qps > 0)) throw new RangeError('qps must be positive');
    this.#qps = options.qps;
    this.#burst = options.burst ?? Math.max(2, Math.ceil(options.qps / 20));
    this.#minQps = options.minQps ?? Math.max(1, options.qps / 16);
    this.#cooldownMs = options.cooldownMs ?? 5000;
    this.#recoverEveryMs = options.recoverEveryMs ?? 2000;
    this.#clock = options.clock ?? performance.now.bind(performance);
    this.#sleep = options.sleep ?? ((ms) => sleepTimer(ms));
    this.#rate = this.#qps;
    this.#tokens = Math.min(this.#burst, 1);
    this.#at = this.#clock();
    this.#calmSince = this.#at;
    this.#lastRecover = this.#at;
    this.#stats.minQpsSeen = this.#qps;
  }

  /** Resolves when the caller may make one call. */
  acquire(): Promise<void> {
    const turn = this.#tail.then(() => this.#take());
    this.#tail = turn.catch(() => {});
    return turn;
  }

  /** WeChat answered 429: halve the rate (not below the minimum) and hold it there a while. */
  onRateLimited(): void {
    const now = this.#clock();
    this.#refill(now);
    this.#stats.rateLimited += 1;
    this.#rate = Math.max(this.#minQps, this.#rate / 2);
    this.#tokens = Math.min(this.#tokens, 0);
    this.#calmSince = now;
    this.#lastRecover = now;
    this.#stats.minQpsSeen = Math.min(this.#stats.minQpsSeen, this.#rate);
  }

  get currentQps(): number {
    return this.#rate;
  }

  stats(): RateLimiterStats {
    return { configuredQps: this.#qps, currentQps: this.#rate, ...this.#stats };
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#rate);
    this.#at = now;
  }

  #recover(now: number): void {
    if (this.#rate >= this.#qps) return;
    if (now - this.#calmSince < this.#cooldownMs || now - this.#lastRecover < this.#recoverEveryMs) return;
    this.#refill(now);
    this.#rate = Math.min(this.#qps, this.#rate + this.#qps / 10);
    this.#lastRecover = now;
  }

  async #take(): Promise<void> {
    for (;;) {
      const now = this.#clock();
      this.#recover(now);
      this.#refill(now);
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        this.#stats.acquired += 1;
        return;
      }
      await this.#sleep(Math.max(1, ((1 - this.#tokens) / this.#rate) * 1000));
    }
  }
}
