import { z } from 'zod';

/** Characters WeChat allows in out_trade_no. */
const TRADE_NO = /^[0-9A-Za-z_\-|*]+$/;
/** out_refund_no: 1–64 of digits, letters and `_-|*@` (one more character than out_trade_no). */
export const OUT_REFUND_NO = /^[0-9A-Za-z_\-|*@]{1,64}$/;

export const outRefundNoSchema = z.string().regex(OUT_REFUND_NO);

export const outTradeNoSchema = z.string().min(6).max(32).regex(TRADE_NO);

const rfc3339 = z.iso.datetime({ offset: true });

/** Only http(s) URLs without a query string, as WeChat requires. https is enforced by the route. */
const notifyUrl = z
  .string()
  .max(255)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.search === '' && url.hash === '';
    } catch {
      return false;
    }
  }, 'notify_url must be an absolute URL without a query string');

const prepayBase = {
  appid: z.string().min(1).max(32),
  mchid: z.string().min(1).max(32),
  description: z.string().min(1).max(127),
  out_trade_no: outTradeNoSchema,
  time_expire: rfc3339.optional(),
  attach: z.string().max(128).optional(),
  notify_url: notifyUrl,
  goods_tag: z.string().max(32).optional(),
  support_fapiao: z.boolean().optional(),
  amount: z.object({
    total: z.number().int().min(1),
    currency: z.literal('CNY').optional(),
  }),
};

export const nativePrepaySchema = z.looseObject(prepayBase);
export const jsapiPrepaySchema = z.looseObject({
  ...prepayBase,
  payer: z.looseObject({ openid: z.string().min(1).max(128) }),
});

export type PrepayRequest = z.infer<typeof nativePrepaySchema> & { payer?: { openid: string } };

export const closeSchema = z.looseObject({ mchid: z.string().min(1).max(32) });

export const refundSchema = z
  .looseObject({
    transaction_id: z.string().min(1).max(32).optional(),
    out_trade_no: outTradeNoSchema.optional(),
    out_refund_no: outRefundNoSchema,
    reason: z.string().max(80).optional(),
    notify_url: notifyUrl.optional(),
    amount: z.looseObject({
      refund: z.number().int().min(1),
      total: z.number().int().min(1),
      currency: z.literal('CNY'),
    }),
  })
  .refine((body) => body.transaction_id !== undefined || body.out_trade_no !== undefined, {
    message: 'transaction_id or out_trade_no is required',
  });

export type RefundRequest = z.infer<typeof refundSchema>;

/** `POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund` (发起异常退款). */
export const applyAbnormalRefundSchema = z
  .looseObject({
    out_refund_no: outRefundNoSchema,
    type: z.enum(['USER_BANK_CARD', 'MERCHANT_BANK_CARD']),
    bank_type: z.string().min(1).max(16).optional(),
    /** Encrypted with the platform's key at WeChat; the sandbox only checks it is there. */
    bank_account: z.string().min(1).max(1024).optional(),
    real_name: z.string().min(1).max(1024).optional(),
  })
  .superRefine((body, ctx) => {
    if (body.type !== 'USER_BANK_CARD') return;
    for (const field of ['bank_type', 'bank_account', 'real_name'] as const) {
      if (body[field] === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `${field} is required for USER_BANK_CARD` });
    }
  });

/** zod issues as WeChat-ish `detail` without echoing values (which may be personal data). */
export function issueDetail(error: z.ZodError): { location: string; path: string; message: string }[] {
  return error.issues.map((issue) => ({
    location: 'body',
    path: issue.path.join('.'),
    message: issue.message,
  }));
}
