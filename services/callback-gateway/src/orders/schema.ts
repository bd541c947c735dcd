import { z } from 'zod';

/** The merchant's own order number: creating an order is idempotent on it. */
export const merchantOrderNo = z.string().regex(/^[A-Za-z0-9_\-|*.:]{1,64}$/, {
  message: 'must be 1-64 characters of letters, digits, _ - | * . :',
});

/** `POST /api/payment/orders`: a points-recharge order. Amounts are integer fen. */
export const createOrderRequest = z
  .strictObject({
    merchant_order_no: merchantOrderNo,
    user_id: z.string().min(1).max(64),
    amount_fen: z.number().int().positive().max(1_000_000_000),
    points: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    bonus_points: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
    trade_type: z.enum(['NATIVE', 'JSAPI']),
    /** The payer's openid, for JSAPI only. Never stored, logged or published. */
    openid: z.string().min(1).max(128).optional(),
    description: z
      .string()
      .min(1)
      .max(127)
      .refine((s) => ![...s].some((c) => (c.codePointAt(0) ?? 0) < 0x20), {
        message: 'must not contain control characters',
      }),
    /** Seconds from now until the order can no longer be paid (60 s to 7 days). */
    expires_in_seconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .optional(),
    /** Or the last moment to pay, RFC 3339. */
    time_expire: z.iso.datetime({ offset: true }).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.trade_type === 'JSAPI' && r.openid === undefined) {
      ctx.addIssue({ code: 'custom', path: ['openid'], message: 'is required for JSAPI orders' });
    }
    if (r.trade_type === 'NATIVE' && r.openid !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['openid'], message: 'is only for JSAPI orders' });
    }
    if (r.expires_in_seconds !== undefined && r.time_expire !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['time_expire'],
        message: 'give either expires_in_seconds or time_expire, not both',
      });
    }
  });

export type CreateOrderRequest = z.output<typeof createOrderRequest>;

export type ValidationIssue = { field: string; message: string };

/** zod issues as field/message pairs. Messages describe the rule, never the value received. */
export function validationIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((i) => ({
    field: i.path.join('.') || '(body)',
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
}

/** RFC 3339 in Beijing time (+08:00), to the second: how WeChat Pay writes and expects times. */
export function beijingRfc3339(date: Date): string {
  const shifted = new Date(Math.floor(date.getTime() / 1000) * 1000 + 8 * 3_600_000);
  return `${shifted.toISOString().slice(0, 19)}+08:00`;
}
