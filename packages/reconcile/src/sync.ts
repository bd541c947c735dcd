import { setTimeout as sleep } from 'node:timers/promises';
import { dateClock, type TradeState } from '@paysync/contracts';
import { FINAL_UNPAID, nextFinalRecheck, predict, type QueryAnswer, queryAnswer } from '@paysync/orders';
import {
  CircuitOpenError,
  OrderNotExistError,
  RateLimitedError,
  UnknownMerchantError,
  WeChatPayApiError,
  WeChatPayError,
  type WeChatTransaction,
} from '@paysync/wechatpay';
import {
  type AlertInput,
  missedNotificationAlert,
  needsAttentionAlert,
  unknownMerchantAlert,
} from './alerts.ts';
import { nextCheckAt } from './backoff.ts';
import { answerObservation } from './observation.ts';
import type { ScheduleUpdate, SyncOrder } from './store.ts';
import { DEFAULT_SYNC_POLICY, type SyncDeps, type SyncOutcome, type SyncResult } from './sync-types.ts';

/** How long a call waits for a half-open breaker's trial call before giving up. */
const HALF_OPEN_WAIT_MS = 10_000;

type Answer = { state: TradeState; tx: WeChatTransaction | undefined; signed: QueryAnswer };

function errorOf(err: unknown): { code: string; message: string } {
  if (err instanceof WeChatPayError) return { code: err.code, message: err.message };
  return { code: 'UNKNOWN', message: err instanceof Error ? err.name : 'unknown error' };
}

function successDelayMs(answer: Answer, order: SyncOrder, now: Date): number {
  const at = answer.tx?.success_time ? Date.parse(answer.tx.success_time) : order.createdAt.getTime();
  return now.getTime() - at;
}

/**
 * Syncs one order with WeChat Pay: query by out_trade_no (through the pacer; 429s slow it down and
 * are retried), and if the order is pending, past time_expire and unpaid, close it at WeChat and
 * query again — the user may have paid in between. Every answer is published as an observation
 * (source `query`); the points-ledger applies it. Publishes missed-notification and needs-attention
 * alerts. Infrastructure failures (Kafka) throw; WeChat failures become outcome `error`, an open
 * breaker outcome `aborted`.
 */
export async function syncOrder(deps: SyncDeps, order: SyncOrder): Promise<SyncResult> {
  const policy = deps.policy ?? DEFAULT_SYNC_POLICY;
  const clock = dateClock(deps.clock);
  const dryRun = deps.dryRun ?? false;
  const now = clock();
  let rateLimited = 0;

  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    let limited = 0;
    let waited = 0;
    for (;;) {
      await deps.pacer?.acquire();
      try {
        return await fn();
      } catch (err) {
        // Half-open: one trial call is in flight; the others wait for its verdict (closed or open).
        if (
          err instanceof CircuitOpenError &&
          deps.wechat.breakerState === 'half_open' &&
          waited < HALF_OPEN_WAIT_MS
        ) {
          await sleep(25);
          waited += 25;
          continue;
        }
        if (!(err instanceof RateLimitedError)) throw err;
        rateLimited += 1;
        limited += 1;
        deps.pacer?.onRateLimited();
        if (limited > policy.rateLimitRetries) throw err;
      }
    }
  };
  // A signed "no such order" is an answer; an unsigned one (UnverifiedAnswerError) is an error.
  const query = async (): Promise<Answer> => {
    const signed = await call(() => queryAnswer(deps.wechat, order));
    const tx = signed.transaction;
    return { state: tx ? tx.trade_state : 'ORDER_NOT_EXIST', tx, signed };
  };

  const expired = now.getTime() >= order.timeExpire.getTime();
  const answers: Answer[] = [];
  let closed = false;
  let failure: unknown;
  let closable = false;
  try {
    const first = await query();
    answers.push(first);
    // A "not found" alone does not finalise a payable order: it is closed at WeChat first (so that
    // it can no longer be paid, should it exist after all) and asked about again.
    closable =
      order.status === 'pending' &&
      (deps.closeExpired ?? true) &&
      expired &&
      (first.state === 'NOTPAY' ||
        first.state === 'ORDER_NOT_EXIST' ||
        (first.state === 'USERPAYING' &&
          now.getTime() >= order.timeExpire.getTime() + policy.userPayingGraceMs));
    if (closable && !dryRun) {
      try {
        await call(() => deps.wechat.closeOrder(order.outTradeNo, order.mchid));
        closed = true;
      } catch (err) {
        // Paid (ORDERPAID) or gone in the meantime: the query below says which.
        const paidOrGone =
          err instanceof OrderNotExistError ||
          (err instanceof WeChatPayApiError && err.wechatCode === 'ORDERPAID');
        if (!paidOrGone) throw err;
      }
      answers.push(await query());
    }
  } catch (err) {
    failure = err;
  }

  const base = {
    outTradeNo: order.outTradeNo,
    statusBefore: order.status,
    closed: closed || (closable && dryRun),
    dryRun,
    rateLimited,
    checkedAt: now,
  };
  if (failure instanceof CircuitOpenError) {
    return {
      ...base,
      outcome: 'aborted',
      wechatState: answers.at(-1)?.state,
      prediction: undefined,
      observations: [],
      alerts: [],
      missedNotification: false,
      needsAttention: false,
      schedule: undefined,
      error: errorOf(failure),
    };
  }

  const final = failure === undefined ? answers.at(-1) : undefined;
  const outcome = final
    ? outcomeOf(final.state, { closedFlow: answers.length > 1, wouldClose: closable && dryRun, expired })
    : 'error';
  const observations = answers.map((a) => answerObservation(a.signed, order, deps.origin, now));
  const last = answers.at(-1);
  const lastObservation = observations.at(-1);
  // A dry run that would close the order predicts from the CLOSED it would then be told.
  const prediction = lastObservation
    ? predict(
        order,
        closable && dryRun
          ? { ...lastObservation, tradeState: 'CLOSED', tradeStateDesc: undefined }
          : lastObservation,
      )
    : undefined;

  const alerts: AlertInput[] = [];
  const settledHere = order.status === 'paid' || order.status === 'refunded';
  const seenPaidBefore = order.lastWechatState === 'SUCCESS' || order.lastWechatState === 'REFUND';
  const delay = final ? successDelayMs(final, order, now) : 0;
  const missedNotification =
    outcome === 'paid' && !settledHere && !seenPaidBefore && delay >= policy.missedNotificationAfterMs;
  if (missedNotification) {
    alerts.push(
      missedNotificationAlert(
        deps.origin.producer,
        now,
        order,
        final?.tx?.success_time,
        Math.round(delay / 1000),
      ),
    );
  }
  const needsAttention =
    failure instanceof UnknownMerchantError ||
    (order.status === 'pending' &&
      now.getTime() >= order.timeExpire.getTime() + policy.attentionAfterExpiryMs);
  if (failure instanceof UnknownMerchantError) {
    alerts.push(unknownMerchantAlert(deps.origin.producer, now, order, failure.ours));
  } else if (needsAttention) {
    const why = failure
      ? `WeChat calls fail (${errorOf(failure).code})`
      : `WeChat says ${last?.state ?? 'nothing'} but it has not become final here`;
    alerts.push(needsAttentionAlert(deps.origin.producer, now, order, last?.state, why));
  }

  let schedule: ScheduleUpdate | undefined;
  if (order.status === 'pending' && !dryRun) {
    const attempt = order.checkAttempts + 1;
    schedule =
      outcome === 'error'
        ? {
            outTradeNo: order.outTradeNo,
            status: order.status,
            nextCheckAt: nextCheckAt(policy.backoff, {
              kind: 'error',
              attempt,
              now,
              timeExpire: order.timeExpire,
            }),
            counted: false,
            checkedAt: now,
            wechatState: undefined,
          }
        : {
            outTradeNo: order.outTradeNo,
            status: order.status,
            nextCheckAt: nextCheckAt(policy.backoff, {
              kind: last?.state === 'USERPAYING' ? 'userpaying' : 'checked',
              attempt,
              now,
              timeExpire: order.timeExpire,
            }),
            counted: true,
            checkedAt: now,
            wechatState: last?.state,
          };
  } else if (FINAL_UNPAID.has(order.status) && !dryRun) {
    // A re-check of an order finalised unpaid: the next one (or none), or soon again after an error.
    schedule = {
      outTradeNo: order.outTradeNo,
      status: order.status,
      nextCheckAt:
        outcome === 'error'
          ? new Date(now.getTime() + policy.backoff.errorRetryMs)
          : nextFinalRecheck(order.settledAt ?? now, now),
      counted: outcome !== 'error',
      checkedAt: now,
      wechatState: outcome === 'error' ? undefined : last?.state,
    };
  }

  if (!dryRun) {
    // Observations first: an alert must never announce what Kafka does not hold.
    await deps.publisher.observations(observations);
    await deps.publisher.alerts(alerts);
  }
  return {
    ...base,
    outcome,
    wechatState: last?.state,
    prediction,
    observations,
    alerts,
    missedNotification,
    needsAttention,
    schedule,
    error: failure === undefined ? undefined : errorOf(failure),
  };
}

function outcomeOf(
  state: TradeState,
  ctx: { closedFlow: boolean; wouldClose: boolean; expired: boolean },
): SyncOutcome {
  switch (state) {
    case 'SUCCESS':
    case 'REFUND':
      return ctx.closedFlow ? 'paid_at_close' : 'paid';
    case 'NOTPAY':
    case 'USERPAYING':
      return ctx.wouldClose ? 'closed' : 'pending';
    case 'CLOSED':
      return ctx.closedFlow ? 'closed' : 'already_closed';
    case 'ORDER_NOT_EXIST':
      return ctx.expired ? 'not_found_expired' : 'not_found';
    case 'PAYERROR':
    case 'REVOKED':
      return 'failed';
  }
}
