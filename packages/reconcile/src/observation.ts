import { randomUUID } from 'node:crypto';
import { type PaymentObservation, paymentObservation } from '@paysync/contracts';
import type { WeChatTransaction } from '@paysync/wechatpay';

/** Who produced an observation, and for operator runs who asked and why. */
export type ObservationOrigin = {
  producer: string;
  actor?: string | undefined;
  reason?: string | undefined;
};

function base(origin: ObservationOrigin, observedAt: Date) {
  return {
    observationId: randomUUID(),
    source: 'query' as const,
    observedAt: observedAt.toISOString(),
    producer: origin.producer,
    ...(origin.actor !== undefined ? { actor: origin.actor.slice(0, 128) } : {}),
    ...(origin.reason !== undefined ? { reason: origin.reason.slice(0, 1024) } : {}),
  };
}

/** An order query's answer as an observation (source `query`). No payer data is copied. */
export function queryObservation(
  tx: WeChatTransaction,
  origin: ObservationOrigin,
  observedAt: Date,
): PaymentObservation {
  const amount = tx.amount;
  return paymentObservation.parse({
    ...base(origin, observedAt),
    outTradeNo: tx.out_trade_no,
    mchid: tx.mchid,
    appid: tx.appid,
    tradeState: tx.trade_state,
    ...(tx.trade_state_desc ? { tradeStateDesc: tx.trade_state_desc.slice(0, 256) } : {}),
    ...(tx.transaction_id ? { transactionId: tx.transaction_id } : {}),
    ...(amount?.total !== undefined
      ? {
          amount: {
            total: amount.total,
            ...(amount.payer_total !== undefined ? { payerTotal: amount.payer_total } : {}),
            currency: amount.currency ?? 'CNY',
          },
        }
      : {}),
    ...(tx.success_time ? { successTime: tx.success_time } : {}),
  });
}

/** WeChat does not know the order (404 ORDER_NOT_EXIST). */
export function notExistObservation(
  order: { outTradeNo: string; mchid: string },
  origin: ObservationOrigin,
  observedAt: Date,
): PaymentObservation {
  return paymentObservation.parse({
    ...base(origin, observedAt),
    outTradeNo: order.outTradeNo,
    mchid: order.mchid,
    tradeState: 'ORDER_NOT_EXIST',
  });
}
