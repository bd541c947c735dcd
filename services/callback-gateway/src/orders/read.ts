import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock, PaymentObservation } from '@paysync/contracts';
import type { Pool } from '@paysync/db';
import type { Logger } from '@paysync/observability';
import { queryAnswer, queryObservation } from '@paysync/orders';
import { outTradeNoSchema, UnknownMerchantError, WeChatPayError } from '@paysync/wechatpay';
import { errorSummary } from '../callback.ts';
import { PublishFailedError } from '../errors.ts';
import { apiError } from '../http/api-errors.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { PRODUCER } from '../observation.ts';
import type { ObservationPublisher } from '../publisher.ts';
import type { MinIntervalLimiter } from '../rate-limit.ts';
import type { ApiResult, WeChatOrders } from './create.ts';
import { findByOutTradeNo, orderView, type StoredOrder } from './store.ts';

export type ReadDeps = {
  pool: Pool;
  wechat: WeChatOrders;
  publisher: ObservationPublisher;
  logger: Logger;
  metrics: GatewayMetrics;
  limiter: MinIntervalLimiter;
  /** How long to wait for the ledger after WeChat confirmed a payment. */
  confirmWaitMs: number;
  pollIntervalMs?: number;
  clock?: Clock;
};

export type ConfirmOutcome =
  | 'settled'
  | 'pending'
  | 'unchanged'
  | 'already_final'
  | 'unknown_merchant'
  | 'wechat_unavailable'
  | 'publish_failed';

const PAID = new Set(['SUCCESS', 'REFUND']);

/** Asks WeChat now; its signed answer (a "not found" included) is the observation's evidence. */
async function observe(deps: ReadDeps, order: StoredOrder, now: Date): Promise<PaymentObservation> {
  const answer = await queryAnswer(deps.wechat, order);
  return queryObservation(answer, order, {
    observationId: randomUUID(),
    source: 'query',
    observedAt: now,
    producer: PRODUCER,
  });
}

/** Polls the order until it leaves pending or the wait is over. */
async function waitForLedger(deps: ReadDeps, outTradeNo: string): Promise<StoredOrder | undefined> {
  const clock = deps.clock ?? Date.now;
  const deadline = clock() + deps.confirmWaitMs;
  let current = await findByOutTradeNo(deps.pool, outTradeNo);
  while (current?.status === 'pending' && clock() < deadline) {
    await sleep(deps.pollIntervalMs ?? 100);
    current = await findByOutTradeNo(deps.pool, outTradeNo);
  }
  return current;
}

/**
 * Reads an order. With `confirm`, the "user came back from the payment page" path WeChat
 * recommends: query WeChat now, publish what it said (source query), and when it says paid, wait
 * briefly for the ledger to settle before answering. The gateway itself never changes the order.
 * WeChat or Kafka trouble does not fail the read: the answer says what could not be confirmed.
 */
export async function readOrder(deps: ReadDeps, rawOutTradeNo: string, confirm: boolean): Promise<ApiResult> {
  const no = outTradeNoSchema.safeParse(rawOutTradeNo);
  if (!no.success) {
    return apiError('VALIDATION_FAILED', 'out_trade_no is not a valid order number', {
      field: 'out_trade_no',
    });
  }
  let order = await findByOutTradeNo(deps.pool, no.data);
  if (!order) return apiError('ORDER_NOT_FOUND', 'no such order');
  if (!confirm) return { status: 200, body: orderView(order) };

  const waitMs = deps.limiter.take(order.outTradeNo);
  if (waitMs > 0) {
    deps.metrics.confirmations.inc({ outcome: 'rate_limited' });
    return apiError(
      'CONFIRM_RATE_LIMITED',
      'this order was confirmed a moment ago; read it without confirm or retry later',
      { retry_after_ms: waitMs },
    );
  }

  let outcome: ConfirmOutcome;
  let wechatTradeState: string | undefined;
  if (order.status !== 'pending') {
    outcome = 'already_final';
  } else {
    try {
      const observation = await observe(deps, order, new Date((deps.clock ?? Date.now)()));
      wechatTradeState = observation.tradeState;
      await deps.publisher.publish(observation);
      if (PAID.has(observation.tradeState)) {
        order = (await waitForLedger(deps, order.outTradeNo)) ?? order;
        outcome = order.status === 'pending' ? 'pending' : 'settled';
      } else {
        outcome = 'unchanged';
      }
    } catch (err) {
      if (!(err instanceof WeChatPayError) && !(err instanceof PublishFailedError)) throw err;
      outcome =
        err instanceof UnknownMerchantError
          ? 'unknown_merchant'
          : err instanceof WeChatPayError
            ? 'wechat_unavailable'
            : 'publish_failed';
      deps.logger.warn({ out_trade_no: order.outTradeNo, error: errorSummary(err) }, `confirm: ${outcome}`);
    }
  }
  deps.metrics.confirmations.inc({ outcome });
  return {
    status: 200,
    body: {
      ...orderView(order),
      confirmation: { outcome, ...(wechatTradeState ? { wechat_trade_state: wechatTradeState } : {}) },
    },
  };
}
