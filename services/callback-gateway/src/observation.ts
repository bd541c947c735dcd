import { type PaymentObservation, paymentObservation } from '@paysync/contracts';
import {
  type DecryptedNotification,
  MalformedError,
  type V2Notification,
  type WeChatRefund,
  type WeChatTransaction,
} from '@paysync/wechatpay';
import { MerchantMismatchError } from './errors.ts';

export const PRODUCER = 'callback-gateway';

export type Merchant = { mchid: string; appids: readonly string[] };

export type ObservationContext = {
  source: PaymentObservation['source'];
  observedAt: Date;
  observationId: string;
  notificationId?: string;
  wechatRequestId?: string;
};

/** Refuses anything that is not for our merchant and app (a verified message can still be misrouted). */
export function checkMerchant(merchant: Merchant, mchid: string, appid: string | undefined): void {
  if (mchid !== merchant.mchid) throw new MerchantMismatchError('mchid');
  if (appid !== undefined && !merchant.appids.includes(appid)) throw new MerchantMismatchError('appid');
}

/** Validates against the topic's contract now, so a bad message is a 400 and never a stuck 5xx. */
function checked(candidate: PaymentObservation): PaymentObservation {
  const result = paymentObservation.safeParse(candidate);
  if (!result.success) {
    const where = result.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw new MalformedError(`the message does not fit a payment observation (${where})`);
  }
  return result.data;
}

function base(ctx: ObservationContext, mchid: string) {
  return {
    observationId: ctx.observationId,
    source: ctx.source,
    observedAt: ctx.observedAt.toISOString(),
    producer: PRODUCER,
    mchid,
    ...(ctx.notificationId !== undefined ? { notificationId: ctx.notificationId } : {}),
    ...(ctx.wechatRequestId !== undefined ? { wechatRequestId: ctx.wechatRequestId.slice(0, 128) } : {}),
  };
}

/** A transaction (notification resource or order query) as an observation. No payer data is copied. */
export function transactionObservation(tx: WeChatTransaction, ctx: ObservationContext): PaymentObservation {
  const amount = tx.amount;
  return checked({
    ...base(ctx, tx.mchid),
    outTradeNo: tx.out_trade_no,
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

/** A refund notification as an observation: the order is in REFUND, with the refund's details. */
export function refundObservation(refund: WeChatRefund, ctx: ObservationContext): PaymentObservation {
  const currency = refund.amount.currency ?? 'CNY';
  return checked({
    ...base(ctx, refund.mchid),
    outTradeNo: refund.out_trade_no,
    tradeState: 'REFUND',
    transactionId: refund.transaction_id,
    amount: { total: refund.amount.total, currency },
    refund: {
      outRefundNo: refund.out_refund_no,
      refundId: refund.refund_id,
      refundStatus: refund.refund_status,
      amount: { refund: refund.amount.refund, total: refund.amount.total, currency },
      ...(refund.success_time ? { successTime: refund.success_time } : {}),
    },
  });
}

/**
 * The observation a verified APIv3 notification carries, after checking it is for our merchant;
 * undefined for a resource type paysync does not act on.
 */
export function notificationObservation(
  n: DecryptedNotification,
  merchant: Merchant,
  ctx: Omit<ObservationContext, 'source' | 'notificationId' | 'wechatRequestId'>,
): PaymentObservation | undefined {
  const full: ObservationContext = {
    ...ctx,
    source: 'notification',
    notificationId: n.id,
    ...(n.requestId ? { wechatRequestId: n.requestId } : {}),
  };
  if (n.kind === 'transaction') {
    checkMerchant(merchant, n.transaction.mchid, n.transaction.appid);
    return transactionObservation(n.transaction, full);
  }
  if (n.kind === 'refund') {
    checkMerchant(merchant, n.refund.mchid, undefined);
    return refundObservation(n.refund, full);
  }
  return undefined;
}

const TIME_END = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;

/** APIv2 `time_end` (yyyyMMddHHmmss, Beijing time) as RFC 3339. */
export function v2TimeEnd(timeEnd: string | undefined): string | undefined {
  const m = timeEnd ? TIME_END.exec(timeEnd) : null;
  if (!m) return undefined;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00`;
}

/** A verified APIv2 payment notification as an observation (only paid ones are published). */
export function v2Observation(
  n: V2Notification,
  merchant: Merchant,
  ctx: ObservationContext,
): PaymentObservation {
  const f = n.fields;
  const mchid = f.mch_id ?? '';
  checkMerchant(merchant, mchid, f.appid ?? '');
  if (n.outTradeNo === undefined || n.transactionId === undefined || n.totalFee === undefined) {
    throw new MalformedError('paid APIv2 notification without out_trade_no, transaction_id or total_fee');
  }
  const cash = f.cash_fee !== undefined && /^\d{1,12}$/.test(f.cash_fee) ? Number(f.cash_fee) : undefined;
  const successTime = v2TimeEnd(f.time_end);
  return checked({
    ...base(ctx, mchid),
    outTradeNo: n.outTradeNo,
    appid: f.appid,
    tradeState: 'SUCCESS',
    transactionId: n.transactionId,
    amount: {
      total: n.totalFee,
      ...(cash !== undefined ? { payerTotal: cash } : {}),
      currency: f.fee_type || 'CNY',
    },
    ...(successTime ? { successTime } : {}),
  });
}
