import { z } from 'zod';
import {
  currency,
  fen,
  observationSource,
  orderStatus,
  outTradeNo,
  producerName,
  rfc3339,
  tradeState,
} from './common.ts';

// Schemas are written in TypeScript's camelCase. On the wire every key is snake_case
// (out_trade_no, transaction_id, …) — the codec converts at the boundary, so each concept has one
// name per side and one schema.

export const refundObservation = z.object({
  outRefundNo: z.string().min(1).max(64),
  refundId: z.string().min(1).max(64),
  refundStatus: z.enum(['SUCCESS', 'CLOSED', 'ABNORMAL', 'PROCESSING']),
  /** Refunded amount in fen, and the order's total. */
  amount: z.object({ refund: fen, total: fen, currency: currency.default('CNY') }),
  successTime: rfc3339.optional(),
});

/** The `Wechatpay-*` headers a signature check needs, exactly as received. */
export const signatureHeaders = z.object({
  serial: z.string().min(1).max(128),
  signature: z.string().min(1).max(1024),
  timestamp: z.string().regex(/^\d{1,12}$/),
  nonce: z.string().min(1).max(128),
  signatureType: z.string().min(1).max(64).optional(),
});

/**
 * WeChat Pay's own signed words behind an observation, kept exactly as received so that the ledger
 * can check them itself (DESIGN invariant 6). The body is the raw UTF-8 text, not re-serialised:
 * the signature covers those bytes.
 * - `notification`: an APIv3 notification (signed envelope, resource encrypted with the APIv3 key);
 * - `answer`: an APIv3 answer to a query (200 with the transaction, or 404 ORDER_NOT_EXIST), signed;
 * - `v2_notification`: an APIv2 XML notification, signed with the APIv2 key inside the XML.
 */
export const observationEvidence = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('notification'),
    headers: signatureHeaders,
    body: z.string().min(1).max(16_384),
  }),
  z.object({
    kind: z.literal('answer'),
    status: z.number().int().min(200).max(499),
    headers: signatureHeaders,
    body: z.string().max(16_384),
  }),
  z.object({ kind: z.literal('v2_notification'), body: z.string().min(1).max(65_536) }),
]);
export type ObservationEvidence = z.infer<typeof observationEvidence>;

/** What WeChat Pay said about one order, from a notification, a query, or an operator. */
export const paymentObservation = z
  .object({
    observationId: z.uuid(),
    outTradeNo,
    source: observationSource,
    observedAt: rfc3339,
    producer: producerName,
    mchid: z.string().min(1).max(32),
    appid: z.string().min(1).max(32).optional(),
    tradeState,
    tradeStateDesc: z.string().max(256).optional(),
    transactionId: z.string().min(1).max(32).optional(),
    amount: z
      .object({ total: fen, payerTotal: fen.optional(), currency: currency.default('CNY') })
      .optional(),
    successTime: rfc3339.optional(),
    refund: refundObservation.optional(),
    /** WeChat's notification id, when the source is a notification. */
    notificationId: z.string().max(64).optional(),
    /** WeChat's Request-ID of the notification or query response. */
    wechatRequestId: z.string().max(128).optional(),
    /** Operator and reason, for manual observations (payctl, PaymentRepair). */
    actor: z.string().max(128).optional(),
    reason: z.string().max(1024).optional(),
    /**
     * WeChat's signed message this observation was read from. Optional in the schema only so that
     * messages written before it existed still decode: the ledger refuses (`unverified`) anything
     * without evidence that verifies and says exactly what the observation says.
     */
    evidence: observationEvidence.optional(),
  })
  .superRefine((o, ctx) => {
    const paid = o.tradeState === 'SUCCESS' || o.tradeState === 'REFUND';
    if (paid && (o.transactionId === undefined || o.amount === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['transactionId'],
        message: `${o.tradeState} requires transaction_id and amount`,
      });
    }
    if (o.source === 'manual' && (o.actor === undefined || o.reason === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['actor'],
        message: 'manual observations require actor and reason',
      });
    }
  });
export type PaymentObservation = z.infer<typeof paymentObservation>;

/** The order reached a new state in paysync's ledger. Emitted after commit, at least once. */
export const orderSettled = z.object({
  eventId: z.uuid(),
  outTradeNo,
  status: orderStatus,
  previousStatus: orderStatus,
  userId: z.string().min(1).max(64),
  amountTotal: fen,
  transactionId: z.string().max(32).optional(),
  /** Points added (positive) or reversed (negative) by this change. */
  pointsDelta: z.number().int(),
  balanceAfter: z.number().int(),
  settledVia: observationSource,
  /** A payment that arrived after the order had expired, been cancelled or failed. */
  latePayment: z.boolean().default(false),
  /**
   * Fen refunded so far, and whether that is less than the order's total: status `refunded` with
   * partialRefund true is a partly refunded order (points reversed in proportion, the rest kept).
   */
  refundedAmount: fen.default(0),
  partialRefund: z.boolean().default(false),
  settledAt: rfc3339,
});
export type OrderSettled = z.infer<typeof orderSettled>;

export const alertType = z.enum([
  'amount_mismatch',
  'merchant_mismatch',
  'late_payment',
  'unknown_order',
  'refund_exceeds_balance',
  'missed_notification',
  'order_needs_attention',
  'notify_url_unhealthy',
  'wechat_api_unavailable',
  'observation_dead_lettered',
  'unverified_observation',
  'refund_unknown',
  'refund_abnormal',
]);
export type AlertType = z.infer<typeof alertType>;

export const alertSeverity = z.enum(['critical', 'warning', 'info']);
export type AlertSeverity = z.infer<typeof alertSeverity>;

/** A domain alert for humans; the alerting service deduplicates by dedupeKey. */
export const domainAlert = z.object({
  alertId: z.uuid(),
  type: alertType,
  severity: alertSeverity,
  outTradeNo: outTradeNo.optional(),
  summary: z.string().min(1).max(512),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
  dedupeKey: z.string().min(1).max(255),
  source: producerName,
  occurredAt: rfc3339,
});
export type DomainAlert = z.infer<typeof domainAlert>;

export const dlqReason = z.enum(['unknown_order', 'malformed', 'mismatch', 'processing_failed']);
export type DlqReason = z.infer<typeof dlqReason>;

/** An observation the ledger could not apply, kept with the reason for operators (payctl dlq). */
export const deadLetteredObservation = z.object({
  reason: dlqReason,
  reasonDetail: z.string().max(2048),
  /**
   * The original message value as consumed (it may not have been decodable) — whole up to 64 KiB;
   * beyond that only its first 64 KiB, so that a dead letter of a huge message still fits under the
   * broker's message size limit instead of wedging the partition it came from.
   */
  originalValue: z.string(),
  /** Size in bytes of the whole original value (absent in dead letters written before it existed). */
  originalBytes: z.number().int().nonnegative().optional(),
  /** SHA-256 (hex) of the whole original value, to match it with the producer's copy. */
  originalSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** True when originalValue is only the value's beginning: such an entry cannot be retried. */
  originalTruncated: z.boolean().optional(),
  originalTopic: z.string(),
  originalPartition: z.number().int().nonnegative(),
  originalOffset: z.string().regex(/^\d+$/),
  outTradeNo: z.string().max(64).optional(),
  failedAt: rfc3339,
});
export type DeadLetteredObservation = z.infer<typeof deadLetteredObservation>;
