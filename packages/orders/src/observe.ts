import {
  checkMessage,
  type ObservationEvidence,
  type ObservationSource,
  type PaymentObservation,
  TOPICS,
} from '@paysync/contracts';
import {
  MalformedError,
  OrderNotExistError,
  type SignedAnswer,
  type V2Notification,
  type WeChatRefund,
  type WeChatRefundAnswer,
  type WeChatTransaction,
} from '@paysync/wechatpay';
import { answerEvidence } from './evidence.ts';

/**
 * The one mapping from what WeChat Pay says to what paysync records. The gateway (notifications),
 * the sweep, the operator, payctl and the order API (queries) build observations with it, and the
 * ledger reads the evidence back through it: a claim and its evidence agree exactly when this
 * mapping gives the same content for both.
 */

/** The part of an observation that WeChat's signed message proves. No payer data is ever copied. */
export type ObservedContent = Pick<
  PaymentObservation,
  | 'outTradeNo'
  | 'mchid'
  | 'appid'
  | 'tradeState'
  | 'tradeStateDesc'
  | 'transactionId'
  | 'amount'
  | 'successTime'
  | 'refund'
>;

export const CONTENT_FIELDS = [
  'outTradeNo',
  'mchid',
  'appid',
  'tradeState',
  'tradeStateDesc',
  'transactionId',
  'amount',
  'successTime',
  'refund',
] as const satisfies readonly (keyof ObservedContent)[];

/** A transaction (notification resource or query answer). */
export function transactionContent(tx: WeChatTransaction): ObservedContent {
  const amount = tx.amount;
  return {
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
  };
}

/** The order is in REFUND, with one refund's details (notification resource or refund answer). */
function refundOf(
  r: { out_trade_no: string; transaction_id: string; out_refund_no: string; refund_id: string },
  mchid: string,
  status: 'SUCCESS' | 'CLOSED' | 'ABNORMAL' | 'PROCESSING',
  amount: { total: number; refund: number; currency?: string | undefined },
  successTime: string | undefined,
): ObservedContent {
  const currency = amount.currency ?? 'CNY';
  return {
    outTradeNo: r.out_trade_no,
    mchid,
    tradeState: 'REFUND',
    transactionId: r.transaction_id,
    amount: { total: amount.total, currency },
    refund: {
      outRefundNo: r.out_refund_no,
      refundId: r.refund_id,
      refundStatus: status,
      amount: { refund: amount.refund, total: amount.total, currency },
      ...(successTime ? { successTime } : {}),
    },
  };
}

/** A refund notification. */
export function refundContent(refund: WeChatRefund): ObservedContent {
  return refundOf(refund, refund.mchid, refund.refund_status, refund.amount, refund.success_time);
}

/**
 * A refund create or query answer. It does not name the merchant: that is the merchant whose
 * credentials asked (the client refuses any other), as for a "not found".
 */
export function refundAnswerContent(refund: WeChatRefundAnswer, mchid: string): ObservedContent {
  return refundOf(refund, mchid, refund.status, refund.amount, refund.success_time);
}

const TIME_END = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;

/** APIv2 `time_end` (yyyyMMddHHmmss, Beijing time) as RFC 3339. */
export function v2TimeEnd(timeEnd: string | undefined): string | undefined {
  const m = timeEnd ? TIME_END.exec(timeEnd) : null;
  if (!m) return undefined;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00`;
}

/** A paid APIv2 notification (only paid ones are observations). */
export function v2Content(n: V2Notification): ObservedContent {
  const f = n.fields;
  if (!n.paid) throw new MalformedError('the APIv2 notification does not report a payment');
  if (n.outTradeNo === undefined || n.transactionId === undefined || n.totalFee === undefined) {
    throw new MalformedError('paid APIv2 notification without out_trade_no, transaction_id or total_fee');
  }
  const cash = f.cash_fee !== undefined && /^\d{1,12}$/.test(f.cash_fee) ? Number(f.cash_fee) : undefined;
  const successTime = v2TimeEnd(f.time_end);
  return {
    outTradeNo: n.outTradeNo,
    mchid: f.mch_id ?? '',
    ...(f.appid !== undefined ? { appid: f.appid } : {}),
    tradeState: 'SUCCESS',
    transactionId: n.transactionId,
    amount: {
      total: n.totalFee,
      ...(cash !== undefined ? { payerTotal: cash } : {}),
      currency: f.fee_type || 'CNY',
    },
    ...(successTime ? { successTime } : {}),
  };
}

/**
 * WeChat has no such order (a signed 404 ORDER_NOT_EXIST). The answer does not name the order: its
 * identity is the one the query asked about, which the ledger binds to the answer's signature.
 */
export function notFoundContent(order: { outTradeNo: string; mchid: string }): ObservedContent {
  return { outTradeNo: order.outTradeNo, mchid: order.mchid, tradeState: 'ORDER_NOT_EXIST' };
}

/** Who saw it, when, and for operator runs who asked and why. */
export type ObservationEnvelope = {
  observationId: string;
  source: ObservationSource;
  observedAt: Date;
  producer: string;
  notificationId?: string | undefined;
  wechatRequestId?: string | undefined;
  actor?: string | undefined;
  reason?: string | undefined;
};

/**
 * An observation: content, envelope and evidence, validated against the topic's contract now, so
 * that a message that cannot be published is a MalformedError where it was received (a 400 to
 * WeChat, an error of the sync), never a stuck producer. The result is frozen, and publishing it
 * does not validate it again.
 */
export function buildObservation(
  content: ObservedContent,
  envelope: ObservationEnvelope,
  evidence: ObservationEvidence,
): PaymentObservation {
  const result = checkMessage(TOPICS.paymentObservations, {
    observationId: envelope.observationId,
    source: envelope.source,
    observedAt: envelope.observedAt.toISOString(),
    producer: envelope.producer,
    ...content,
    ...(envelope.notificationId !== undefined
      ? { notificationId: envelope.notificationId.slice(0, 64) }
      : {}),
    ...(envelope.wechatRequestId !== undefined
      ? { wechatRequestId: envelope.wechatRequestId.slice(0, 128) }
      : {}),
    ...(envelope.actor !== undefined ? { actor: envelope.actor.slice(0, 128) } : {}),
    ...(envelope.reason !== undefined ? { reason: envelope.reason.slice(0, 1024) } : {}),
    evidence,
  });
  if (!result.success) {
    const where = result.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw new MalformedError(`the message does not fit a payment observation (${where})`);
  }
  return result.data;
}

/** The content fields of an observation, for comparison with what its evidence says. */
export function contentOf(obs: PaymentObservation): ObservedContent {
  const out: Record<string, unknown> = {};
  for (const field of CONTENT_FIELDS) if (obs[field] !== undefined) out[field] = obs[field];
  return out as ObservedContent;
}

/** A query's signed answer: the transaction, or WeChat's signed "no such order". */
export type QueryAnswer = { transaction: WeChatTransaction | undefined; answer: SignedAnswer };

/** Anything that can query an order with its signed answer kept (WeChatPayClient). */
export type OrderQuerier = {
  queryOrder(
    outTradeNo: string,
    mchid: string,
  ): Promise<{ transaction: WeChatTransaction; answer: SignedAnswer }>;
};

/**
 * Queries one order, a signed 404 ORDER_NOT_EXIST included as an answer. Every other failure —
 * an unsigned "not found" (UnverifiedAnswerError) among them — is thrown: it is not a fact.
 */
export async function queryAnswer(
  wechat: OrderQuerier,
  order: { outTradeNo: string; mchid: string },
): Promise<QueryAnswer> {
  try {
    return await wechat.queryOrder(order.outTradeNo, order.mchid);
  } catch (err) {
    if (err instanceof OrderNotExistError) return { transaction: undefined, answer: err.answer };
    throw err;
  }
}

/** A query's answer as an observation (source `query`, unless an operator's envelope says manual). */
export function queryObservation(
  answer: QueryAnswer,
  order: { outTradeNo: string; mchid: string },
  envelope: ObservationEnvelope,
): PaymentObservation {
  const content = answer.transaction ? transactionContent(answer.transaction) : notFoundContent(order);
  return buildObservation(content, envelope, answerEvidence(answer.answer));
}

/** A refund's signed create or query answer as an observation. */
export function refundAnswerObservation(
  refund: WeChatRefundAnswer,
  answer: SignedAnswer,
  mchid: string,
  envelope: ObservationEnvelope,
): PaymentObservation {
  return buildObservation(refundAnswerContent(refund, mchid), envelope, answerEvidence(answer));
}

/**
 * An observation fit for a terminal, a ticket or a log: the evidence reduced to what identifies it
 * (kind, signing key, time). The evidence itself stays in Kafka and the journal; a query answer's
 * body carries the payer's openid in clear, and none of it is needed to read what happened.
 */
export function forDisplay(obs: PaymentObservation): Omit<PaymentObservation, 'evidence'> & {
  evidence?: { kind: string; serial?: string; signedAt?: string };
} {
  const { evidence, ...rest } = obs;
  if (!evidence) return rest;
  const signed =
    evidence.kind === 'v2_notification'
      ? {}
      : {
          serial: evidence.headers.serial,
          signedAt: new Date(Number(evidence.headers.timestamp) * 1000).toISOString(),
        };
  return { ...rest, evidence: { kind: evidence.kind, ...signed } };
}
