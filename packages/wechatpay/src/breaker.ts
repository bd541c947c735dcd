import CircuitBreaker from 'opossum';
import { NetworkError, ServerError, TimeoutError } from './errors.ts';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  /** Failure percentage (within the rolling window) that opens the breaker. Default 50. */
  errorThresholdPercentage?: number;
  /** How long the breaker stays open before letting one trial call through. Default 30 s. */
  resetTimeoutMs?: number;
  /** Calls needed in the window before the breaker may open. Default 5. */
  volumeThreshold?: number;
  /** Rolling statistics window. Default 10 s. */
  rollingCountTimeoutMs?: number;
  /** Turn the breaker off (every call goes through). Default true. */
  enabled?: boolean;
}

/**
 * Only signs that WeChat is unreachable or failing count against the breaker: network errors,
 * timeouts and 5xx. Business answers (ORDER_NOT_EXIST, PARAM_ERROR, 429, bad signatures) do not.
 */
export function countsAsBreakerFailure(error: unknown): boolean {
  return error instanceof NetworkError || error instanceof TimeoutError || error instanceof ServerError;
}

export function createBreaker<TArgs extends unknown[], TResult>(
  action: (...args: TArgs) => Promise<TResult>,
  options: BreakerOptions,
  onState: (state: BreakerState) => void,
): CircuitBreaker<TArgs, TResult> {
  const breaker = new CircuitBreaker<TArgs, TResult>(action, {
    name: 'wechatpay',
    timeout: false,
    errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
    resetTimeout: options.resetTimeoutMs ?? 30_000,
    volumeThreshold: options.volumeThreshold ?? 5,
    rollingCountTimeout: options.rollingCountTimeoutMs ?? 10_000,
    enabled: options.enabled ?? true,
    errorFilter: (error: unknown) => !countsAsBreakerFailure(error),
  });
  breaker.on('open', () => onState('open'));
  breaker.on('halfOpen', () => onState('half_open'));
  breaker.on('close', () => onState('closed'));
  return breaker;
}

export function breakerState(
  breaker: CircuitBreaker<never[], unknown> | { opened: boolean; halfOpen: boolean },
): BreakerState {
  if (breaker.halfOpen) return 'half_open';
  return breaker.opened ? 'open' : 'closed';
}
