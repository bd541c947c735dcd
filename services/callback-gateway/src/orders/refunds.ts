import { type Clock, systemClock } from '@paysync/contracts';
import { findRefund, listRefunds, type Pool, type RefundRow } from '@paysync/db';
import type { Logger } from '@paysync/observability';
import {
  type Acceptance,
  acceptRefund,
  type DriveResult,
  driveStoredRefund,
  type RefundApi,
} from '@paysync/orders';
import { outRefundNoSchema, outTradeNoSchema } from '@paysync/wechatpay';
import { z } from 'zod';
import { errorSummary } from '../callback.ts';
import { apiError } from '../http/api-errors.ts';
import { PRODUCER } from '../observation.ts';
import type { ObservationPublisher } from '../publisher.ts';
import type { ApiResult } from './create.ts';
import { merchantOrderNo, validationIssues } from './schema.ts';
import { findByOutTradeNo } from './store.ts';

export type RefundDeps = {
  pool: Pool;
  wechat: RefundApi;
  publisher: ObservationPublisher;
  logger: Logger;
  notifyUrl: string;
  clock?: Clock;
  newOutRefundNo?: (now: Date) => string;
};

/** `POST /api/payment/orders/:out_trade_no/refunds`. Amounts are integer fen. */
export const createRefundRequest = z.strictObject({
  /** The merchant back end's own refund number: the same request again returns the same refund. */
  merchant_refund_no: merchantOrderNo,
  amount_fen: z.number().int().positive().max(1_000_000_000),
  /** Shown to the user by WeChat (80 characters at most). */
  reason: z
    .string()
    .min(1)
    .max(80)
    .refine((s) => ![...s].some((c) => (c.codePointAt(0) ?? 0) < 0x20), {
      message: 'must not contain control characters',
    })
    .optional(),
});

/** A refund as the API shows it. */
export function refundView(r: RefundRow) {
  return {
    out_refund_no: r.outRefundNo,
    merchant_refund_no: r.merchantRefundNo,
    out_trade_no: r.outTradeNo,
    amount_fen: r.amountFen,
    reason: r.reason,
    origin: r.origin,
    status: r.status,
    wechat_status: r.wechatStatus,
    refund_id: r.refundId,
    /** Whether WeChat has answered the refund's create (until then it is sent again). */
    submitted: r.submittedAt !== null,
    failure_code: r.failureCode,
    hold_points: r.holdPoints,
    hold_released: r.holdReleasedAt !== null,
    reversed_points: r.reversedPoints,
    success_time: r.successTime?.toISOString() ?? null,
    created_at: r.createdAt.toISOString(),
  };
}

/** Sends a refund WeChat has not answered yet; the sweep does the same later if this fails. */
export async function sendRefund(deps: RefundDeps, r: RefundRow): Promise<DriveResult> {
  const result = await driveStoredRefund(
    {
      pool: deps.pool,
      wechat: deps.wechat,
      publish: (obs) => deps.publisher.publish(obs),
      notifyUrl: deps.notifyUrl,
      producer: PRODUCER,
      clock: deps.clock ?? systemClock,
    },
    r,
  );
  if (result.kind !== 'answered') {
    deps.logger.warn({ out_refund_no: r.outRefundNo, result }, 'refund not yet accepted by WeChat Pay');
  }
  return result;
}

const invalidNo = (field: string): ApiResult =>
  apiError('VALIDATION_FAILED', `${field} is not a valid number`, { field });

function refused(a: Extract<Acceptance, { kind: 'refused' }>): ApiResult {
  const { code, message } = a.refusal;
  return apiError(
    code,
    message,
    a.refusal.code === 'AMOUNT_EXCEEDS_REFUNDABLE' ? { refundable_fen: a.refusal.refundableFen } : {},
  );
}

/**
 * Refunds (part of) a paid order. Idempotent on merchant_refund_no: the same request again returns
 * the same refund (sending it to WeChat again if WeChat has not answered yet); the same number with
 * another order, amount or reason is 409. The refund is accepted here first (its points held), then
 * sent to WeChat with paysync's notify_url; when WeChat cannot be reached it stays `processing`,
 * not yet `submitted`, and the reconciler sends it again with the same out_refund_no.
 */
export async function createRefund(
  deps: RefundDeps,
  rawOutTradeNo: string,
  body: unknown,
): Promise<ApiResult> {
  const no = outTradeNoSchema.safeParse(rawOutTradeNo);
  if (!no.success) return invalidNo('out_trade_no');
  const parsed = createRefundRequest.safeParse(body);
  if (!parsed.success) {
    const errors = validationIssues(parsed.error);
    const first = errors[0] ?? { field: '(body)', message: 'is invalid' };
    return apiError('VALIDATION_FAILED', `${first.field} ${first.message}`, { field: first.field, errors });
  }
  const req = parsed.data;
  const now = new Date((deps.clock ?? Date.now)());
  const accepted = await acceptRefund(
    deps.pool,
    {
      outTradeNo: no.data,
      merchantRefundNo: req.merchant_refund_no,
      amountFen: req.amount_fen,
      reason: req.reason ?? null,
      origin: 'api',
      requestedBy: null,
    },
    { now, ...(deps.newOutRefundNo ? { newOutRefundNo: deps.newOutRefundNo } : {}) },
  );
  switch (accepted.kind) {
    case 'not_found':
      return apiError('ORDER_NOT_FOUND', 'no such order');
    case 'refused':
      return refused(accepted);
    case 'would_accept':
      throw new Error('a dry run reached the order API');
    case 'conflict':
      return apiError(
        'MERCHANT_REFUND_NO_CONFLICT',
        `merchant_refund_no is already used by a refund with a different ${accepted.differs}`,
        { field: 'merchant_refund_no', out_refund_no: accepted.refund.outRefundNo },
      );
    case 'existing':
    case 'accepted': {
      let refund = accepted.refund;
      if (refund.status === 'processing' && refund.submittedAt === null) {
        try {
          await sendRefund(deps, refund);
        } catch (err) {
          deps.logger.warn(
            { out_refund_no: refund.outRefundNo, error: errorSummary(err) },
            'refund send failed',
          );
        }
        refund = (await findRefund(deps.pool, refund.outRefundNo)) ?? refund;
      }
      if (refund.status === 'rejected') {
        return apiError(
          'REFUND_REJECTED',
          'WeChat Pay refused the refund; nothing was refunded and the points hold was released',
          { wechat_code: refund.failureCode, refund: refundView(refund) },
        );
      }
      deps.logger.info(
        {
          out_trade_no: refund.outTradeNo,
          out_refund_no: refund.outRefundNo,
          created: accepted.kind === 'accepted',
        },
        'refund accepted',
      );
      return {
        status: accepted.kind === 'accepted' ? 201 : 200,
        body: { ...refundView(refund), created: accepted.kind === 'accepted' },
      };
    }
  }
}

/** `GET …/refunds` (all of the order's refunds) and `GET …/refunds/:out_refund_no`. */
export async function readRefunds(
  deps: Pick<RefundDeps, 'pool'>,
  rawOutTradeNo: string,
  rawOutRefundNo?: string,
): Promise<ApiResult> {
  const no = outTradeNoSchema.safeParse(rawOutTradeNo);
  if (!no.success) return invalidNo('out_trade_no');
  const order = await findByOutTradeNo(deps.pool, no.data);
  if (!order) return apiError('ORDER_NOT_FOUND', 'no such order');
  if (rawOutRefundNo === undefined) {
    const refunds = await listRefunds(deps.pool, no.data);
    return { status: 200, body: { out_trade_no: no.data, refunds: refunds.map(refundView) } };
  }
  const refundNo = outRefundNoSchema.safeParse(rawOutRefundNo);
  if (!refundNo.success) return invalidNo('out_refund_no');
  const refund = await findRefund(deps.pool, refundNo.data);
  if (!refund || refund.outTradeNo !== no.data) {
    return apiError('REFUND_NOT_FOUND', 'no such refund of this order');
  }
  return { status: 200, body: refundView(refund) };
}
