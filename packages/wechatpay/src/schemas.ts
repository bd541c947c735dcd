import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import { MalformedError } from './errors.ts';

/**
 * Wire shapes of what WeChat sends, parsed with zod. Objects are loose: unknown fields are kept, so
 * nothing WeChat adds later is silently dropped. Names stay as on the wire (snake_case).
 */

export const TRADE_STATES = [
  'SUCCESS',
  'REFUND',
  'NOTPAY',
  'CLOSED',
  'REVOKED',
  'USERPAYING',
  'PAYERROR',
] as const;
export type TradeState = (typeof TRADE_STATES)[number];
export const TRADE_TYPES = ['JSAPI', 'NATIVE', 'APP', 'MICROPAY', 'MWEB', 'FACEPAY'] as const;
export type TradeType = (typeof TRADE_TYPES)[number];
export const REFUND_STATUSES = ['SUCCESS', 'CLOSED', 'ABNORMAL'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

const fen = z.number().int().nonnegative();
const rfc3339 = z.iso.datetime({ offset: true });

export const transactionSchema = z
  .looseObject({
    appid: z.string().min(1),
    mchid: z.string().min(1),
    out_trade_no: z.string().min(6).max(32),
    transaction_id: z.string().min(1).optional(),
    // Not acted on by paysync: a trade type WeChat adds later must not block the notification and
    // the query (TRADE_TYPES lists the known ones).
    trade_type: z.string().optional(),
    trade_state: z.enum(TRADE_STATES),
    trade_state_desc: z.string().optional(),
    bank_type: z.string().optional(),
    attach: z.string().optional(),
    success_time: rfc3339.optional(),
    payer: z.looseObject({ openid: z.string().optional() }).optional(),
    amount: z
      .looseObject({
        total: fen.optional(),
        payer_total: fen.optional(),
        currency: z.string().optional(),
        payer_currency: z.string().optional(),
      })
      .optional(),
  })
  .superRefine((tx, ctx) => {
    // A paid order must say what was paid and when; otherwise it cannot be settled safely.
    if (tx.trade_state !== 'SUCCESS' && tx.trade_state !== 'REFUND') return;
    if (!tx.transaction_id) ctx.addIssue({ code: 'custom', message: 'paid without transaction_id' });
    if (tx.amount?.total === undefined)
      ctx.addIssue({ code: 'custom', message: 'paid without amount.total' });
    if (!tx.success_time) ctx.addIssue({ code: 'custom', message: 'paid without success_time' });
  });
export type WeChatTransaction = z.infer<typeof transactionSchema>;

/** A refund's amounts, as its notification and the refund API's answers carry them. */
export const refundAmountSchema = z.looseObject({
  total: fen,
  refund: fen,
  payer_total: fen.optional(),
  payer_refund: fen.optional(),
  currency: z.string().optional(),
});

/** The fields a refund notification and a refund answer share. */
export const refundFields = {
  out_trade_no: z.string().min(1),
  transaction_id: z.string().min(1),
  out_refund_no: z.string().min(1),
  refund_id: z.string().min(1),
  success_time: rfc3339.optional(),
  user_received_account: z.string().optional(),
  amount: refundAmountSchema,
};

/** A SUCCESS refund says when it succeeded: without it, it cannot be applied safely. */
export function requireSuccessTime(
  status: string,
  successTime: string | undefined,
  ctx: z.RefinementCtx,
): void {
  if (status === 'SUCCESS' && !successTime) {
    ctx.addIssue({ code: 'custom', message: 'refund SUCCESS without success_time' });
  }
}

export const refundSchema = z
  .looseObject({ mchid: z.string().min(1), refund_status: z.enum(REFUND_STATUSES), ...refundFields })
  .superRefine((r, ctx) => requireSuccessTime(r.refund_status, r.success_time, ctx));
export type WeChatRefund = z.infer<typeof refundSchema>;

export const notificationEnvelopeSchema = z.looseObject({
  id: z.string().min(1),
  create_time: rfc3339,
  event_type: z.string().min(1),
  resource_type: z.literal('encrypt-resource'),
  summary: z.string().optional(),
  resource: z.looseObject({
    algorithm: z.literal('AEAD_AES_256_GCM'),
    ciphertext: z.string().min(1),
    associated_data: z.string().optional(),
    original_type: z.string().min(1),
    nonce: z.string().min(1).max(64),
  }),
});
export type NotificationEnvelope = z.infer<typeof notificationEnvelopeSchema>;

export const apiErrorBodySchema = z.looseObject({
  code: z.string(),
  message: z.string().optional(),
  detail: z.unknown().optional(),
});

export const certificatesResponseSchema = z.looseObject({
  data: z.array(
    z.looseObject({
      serial_no: z.string().min(1),
      effective_time: rfc3339,
      expire_time: rfc3339,
      encrypt_certificate: z.looseObject({
        algorithm: z.literal('AEAD_AES_256_GCM'),
        nonce: z.string().min(1),
        associated_data: z.literal('certificate'),
        ciphertext: z.string().min(1),
      }),
    }),
  ),
});

/** Parses `value` with `schema`, turning any failure into MalformedError without echoing the data. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const where = result.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new MalformedError(`${what} does not match the expected shape (${where})`);
  }
  return result.data;
}

/** JSON.parse that throws MalformedError instead of SyntaxError; bytes must be valid UTF-8. */
export function parseJson(text: string | Buffer, what: string): unknown {
  if (typeof text !== 'string' && !isUtf8(text)) throw new MalformedError(`${what} is not valid UTF-8`);
  try {
    // A leading BOM stays in the text and fails JSON.parse, as with a strict decoder that keeps it.
    return JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch {
    throw new MalformedError(`${what} is not valid JSON`);
  }
}

/** Parses a decrypted transaction (notification resource or order query response). */
export function parseTransaction(value: unknown): WeChatTransaction {
  return parseWith(transactionSchema, value, 'transaction');
}

/** Parses a decrypted refund notification resource. */
export function parseRefund(value: unknown): WeChatRefund {
  return parseWith(refundSchema, value, 'refund');
}
