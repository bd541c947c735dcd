import type { Clock } from '@paysync/contracts';
/**
 * At most one event per key per `intervalMs` (per process). Memory is bounded: expired keys are
 * swept when the map grows past `maxKeys`, and when it is still full, new keys are refused.
 */
export class MinIntervalLimiter {
  readonly #last = new Map<string, number>();
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #clock: Clock;

  constructor(opts: { intervalMs: number; maxKeys?: number; clock?: Clock }) {
    this.#intervalMs = opts.intervalMs;
    this.#maxKeys = opts.maxKeys ?? 100_000;
    this.#clock = opts.clock ?? Date.now;
  }

  /** Takes the slot for `key`: 0 when allowed, otherwise the milliseconds until it would be. */
  take(key: string): number {
    const now = this.#clock();
    const last = this.#last.get(key);
    if (last !== undefined && now - last < this.#intervalMs) return this.#intervalMs - (now - last);
    if (last === undefined && this.#last.size >= this.#maxKeys) {
      for (const [k, t] of this.#last) if (now - t >= this.#intervalMs) this.#last.delete(k);
      if (this.#last.size >= this.#maxKeys) return this.#intervalMs;
    }
    this.#last.set(key, now);
    return 0;
  }
}
