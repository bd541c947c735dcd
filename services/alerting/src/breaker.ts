import { type Clock, systemClock } from '@paysync/contracts';
import CircuitBreaker from 'opossum';
import type { Channel } from './channels/types.ts';
import type { Notice } from './notice.ts';

export type BreakerState = 'closed' | 'open' | 'half_open';

export type BreakerSettings = {
  /** Failure percentage in the rolling window that opens the breaker. */
  errorThresholdPercentage: number;
  /** How long an open breaker waits before letting one trial message through. */
  resetTimeoutMs: number;
  /** Messages in the window before the breaker may open. */
  volumeThreshold: number;
  rollingCountTimeoutMs: number;
};

export type ChannelBreaker = CircuitBreaker<[readonly Notice[], AbortSignal], void>;

/** One opossum breaker around one channel's send. Every failure to deliver counts. */
export function createChannelBreaker(
  channel: Channel,
  settings: BreakerSettings,
  onState: (state: BreakerState) => void,
): ChannelBreaker {
  const breaker: ChannelBreaker = new CircuitBreaker(
    (notices: readonly Notice[], signal: AbortSignal) => channel.send(notices, signal),
    {
      name: `alerting-${channel.name}`,
      // The channel enforces its own timeout (AbortSignal, SMTP socket timeouts).
      timeout: false,
      errorThresholdPercentage: settings.errorThresholdPercentage,
      resetTimeout: settings.resetTimeoutMs,
      volumeThreshold: settings.volumeThreshold,
      rollingCountTimeout: settings.rollingCountTimeoutMs,
    },
  );
  breaker.on('open', () => onState('open'));
  breaker.on('halfOpen', () => onState('half_open'));
  breaker.on('close', () => onState('closed'));
  return breaker;
}

export function breakerStateOf(breaker: ChannelBreaker): BreakerState {
  if (breaker.halfOpen) return 'half_open';
  return breaker.opened ? 'open' : 'closed';
}

/** opossum refused to call the channel (open, or half-open with its trial call in flight). */
export function isBreakerRejection(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'EOPENBREAKER' || code === 'ESEMLOCKED';
}

/** A token bucket: `perMinute` messages a minute, bursts up to the same number. */
export class RateLimiter {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #clock: Clock;
  #tokens: number;
  #at: number;

  constructor(perMinute: number, clock: Clock = systemClock) {
    this.#capacity = perMinute;
    this.#perMs = perMinute / 60_000;
    this.#clock = clock;
    this.#tokens = perMinute;
    this.#at = clock();
  }

  take(): boolean {
    const now = this.#clock();
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
    // A small tolerance: refills are floating-point fractions of a token.
    if (this.#tokens < 1 - 1e-9) return false;
    this.#tokens = Math.max(0, this.#tokens - 1);
    return true;
  }

  /** Returns a token taken for a message that was not sent after all. */
  refund(): void {
    this.#tokens = Math.min(this.#capacity, this.#tokens + 1);
  }
}
