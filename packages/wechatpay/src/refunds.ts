import { z } from 'zod';
import { outTradeNoSchema } from './prepay.ts';
import { parseWith, refundFields, requireSuccessTime } from './schemas.ts';

/**
 * Merchant-initiated refunds (`POST /v3/refund/domestic/refunds`, `GET …/refunds/{out_refund_no}`).
 * The out_refund_no is WeChat's idempotency key: the same number sent again refunds only once, so a
 * create that failed or timed out is retried with the same number and the same amount, never a new one.
 */

/** 1–64 of `[0-9A-Za-z_-|*@]`, unique per merchant. */
export const outRefundNoSchema = z.string().regex(/^[0-9A-Za-z_\-|*@]{1,64}$/);

export const REFUND_ANSWER_STATUSES = ['SUCCESS', 'CLOSED', 'PROCESSING', 'ABNORMAL'] as const;
export type RefundAnswerStatus = (typeof REFUND_ANSWER_STATUSES)[number];

export const createRefundSchema = z.strictObject({
  outTradeNo: outTradeNoSchema,
  outRefundNo: outRefundNoSchema,
  /** Shown to the user; WeChat allows 80 characters. */
  reason: z.string().min(1).max(80).optional(),
  /** Always set: without it WeChat notifies whatever the merchant platform has configured. */
  notifyUrl: z.url().max(256),
  refundFen: z.number().int().min(1),
  totalFen: z.number().int().min(1),
});
export type CreateRefundInput = z.input<typeof createRefundSchema>;

/** The request body WeChat documents; amounts in fen, currency CNY. */
export function createRefundBody(input: z.output<typeof createRefundSchema>): string {
  return JSON.stringify({
    out_trade_no: input.outTradeNo,
    out_refund_no: input.outRefundNo,
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    notify_url: input.notifyUrl,
    amount: { refund: input.refundFen, total: input.totalFen, currency: 'CNY' },
  });
}

/** A refund as the create and query APIs answer it (`status`, not the notification's `refund_status`). */
export const refundAnswerSchema = z
  .looseObject({
    ...refundFields,
    channel: z.string().optional(),
    create_time: z.iso.datetime({ offset: true }).optional(),
    status: z.enum(REFUND_ANSWER_STATUSES),
    funds_account: z.string().optional(),
  })
  .superRefine((r, ctx) => requireSuccessTime(r.status, r.success_time, ctx));
export type WeChatRefundAnswer = z.infer<typeof refundAnswerSchema>;

export function parseRefundAnswer(value: unknown): WeChatRefundAnswer {
  return parseWith(refundAnswerSchema, value, 'refund answer');
}

/** Does a JSON body look like a refund answer (rather than a transaction)? */
export function isRefundAnswerBody(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'out_refund_no' in value && 'refund_id' in value;
}
