import type { Clock, OrderStatus, PaymentObservation, TradeState } from '@paysync/contracts';
import type { Prediction } from '@paysync/orders';
import type { BreakerState, SignedAnswer, WeChatTransaction } from '@paysync/wechatpay';
import type { AlertInput } from './alerts.ts';
import { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff.ts';
import type { ObservationOrigin } from './observation.ts';
import type { Publisher } from './publisher.ts';
import type { ScheduleUpdate } from './store.ts';

/**
 * The two WeChat Pay calls the sync makes, each with the order's own merchant; WeChatPayClient is
 * one (it refuses another merchant's order with UnknownMerchantError rather than ask wrongly).
 */
export interface WeChatOrders {
  /** The query with WeChat's signed answer kept (the observation's evidence). */
  queryOrder(
    outTradeNo: string,
    mchid: string,
  ): Promise<{ transaction: WeChatTransaction; answer: SignedAnswer }>;
  closeOrder(outTradeNo: string, mchid: string): Promise<void>;
  /** The circuit breaker's state, when the client has one. */
  readonly breakerState?: BreakerState;
}

/** Paces WeChat calls; AdaptiveRateLimiter is one. */
export interface CallPacer {
  acquire(): Promise<void>;
  onRateLimited(): void;
}

export type SyncPolicy = {
  backoff: BackoffPolicy;
  /** A SUCCESS paid longer ago than this that no notification settled is a missed notification. */
  missedNotificationAfterMs: number;
  /** Still pending this long after time_expire: an order_needs_attention alert. */
  attentionAfterExpiryMs: number;
  /** USERPAYING after time_expire is closed only once this much later (the user may be finishing). */
  userPayingGraceMs: number;
  /** 429s retried (after the pacer slowed down) before the check counts as an error. */
  rateLimitRetries: number;
};

export const DEFAULT_SYNC_POLICY: SyncPolicy = Object.freeze({
  backoff: DEFAULT_BACKOFF,
  missedNotificationAfterMs: 2 * 60_000,
  attentionAfterExpiryMs: 60 * 60_000,
  userPayingGraceMs: 5 * 60_000,
  rateLimitRetries: 3,
});

export type SyncDeps = {
  wechat: WeChatOrders;
  publisher: Publisher;
  pacer?: CallPacer | undefined;
  policy?: SyncPolicy;
  clock?: Clock;
  /** Producer name, and for operator runs the actor and reason carried by every observation. */
  origin: ObservationOrigin;
  /** Query only: no close, no publish (the result says what would happen). */
  dryRun?: boolean;
  /** Close pending orders past time_expire that are still unpaid (default true). */
  closeExpired?: boolean;
};

/** Bounded outcome of one order's sync (a metric label). */
export type SyncOutcome =
  | 'paid' // SUCCESS/REFUND found
  | 'paid_at_close' // the user paid between the last NOTPAY and our close
  | 'pending' // NOTPAY/USERPAYING, not due to be closed
  | 'closed' // we closed it at WeChat (dry run: would)
  | 'already_closed' // CLOSED found
  | 'failed' // PAYERROR / REVOKED
  | 'not_found' // ORDER_NOT_EXIST before expiry
  | 'not_found_expired' // ORDER_NOT_EXIST after expiry: final
  | 'error' // a WeChat call failed; retried later
  | 'aborted'; // the breaker is open: nothing done, nothing marked

export const SYNC_OUTCOMES: readonly SyncOutcome[] = [
  'paid',
  'paid_at_close',
  'pending',
  'closed',
  'already_closed',
  'failed',
  'not_found',
  'not_found_expired',
  'error',
  'aborted',
];

export type SyncResult = {
  outTradeNo: string;
  outcome: SyncOutcome;
  statusBefore: OrderStatus;
  /** WeChat's last answer. */
  wechatState: TradeState | undefined;
  /** What the answer does to our order (the ledger decides; this mirrors it). */
  prediction: Prediction | undefined;
  /** Closed at WeChat by this sync (in a dry run: would have been). */
  closed: boolean;
  dryRun: boolean;
  /** Published (dry run: would have been). */
  observations: PaymentObservation[];
  alerts: AlertInput[];
  missedNotification: boolean;
  needsAttention: boolean;
  /** For a pending order: what its scheduling columns become (not in dry runs, not when aborted). */
  schedule: ScheduleUpdate | undefined;
  error: { code: string; message: string } | undefined;
  rateLimited: number;
  checkedAt: Date;
};
