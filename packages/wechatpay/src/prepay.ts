import { z } from 'zod';
import { InvalidArgumentError } from './errors.ts';

/** out_trade_no: 6–32 characters of digits, letters, `_ - | *`. */
export const outTradeNoSchema = z.string().regex(/^[0-9A-Za-z_\-|*]{6,32}$/);

/** WeChat transaction ids are digits (28 today); accept a conservative superset. */
export const transactionIdSchema = z.string().regex(/^[0-9A-Za-z_-]{1,64}$/);

const prepayBase = z.object({
  appid: z.string().min(1).max(32),
  description: z.string().min(1).max(127),
  outTradeNo: outTradeNoSchema,
  notifyUrl: z.url().max(256),
  /** Integer fen. */
  amountTotal: z.number().int().positive(),
  currency: z.literal('CNY').default('CNY'),
  /** RFC 3339: the last moment the user may pay. */
  timeExpire: z.iso.datetime({ offset: true }).optional(),
  attach: z.string().max(128).optional(),
});

export const nativePrepaySchema = prepayBase;
export const jsapiPrepaySchema = prepayBase.extend({ payerOpenid: z.string().min(1).max(128) });

export type NativePrepayInput = z.input<typeof nativePrepaySchema>;
export type JsapiPrepayInput = z.input<typeof jsapiPrepaySchema>;

export function checkInput<T>(schema: z.ZodType<T, unknown>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const fields = result.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new InvalidArgumentError(`${what}: invalid ${fields}`);
  }
  return result.data;
}

/** The wire body of `POST /v3/pay/transactions/native|jsapi`. */
export function prepayBody(
  mchid: string,
  input: z.output<typeof jsapiPrepaySchema> | z.output<typeof nativePrepaySchema>,
): string {
  return JSON.stringify({
    appid: input.appid,
    mchid,
    description: input.description,
    out_trade_no: input.outTradeNo,
    ...(input.timeExpire ? { time_expire: input.timeExpire } : {}),
    ...(input.attach !== undefined ? { attach: input.attach } : {}),
    notify_url: input.notifyUrl,
    amount: { total: input.amountTotal, currency: input.currency },
    ...('payerOpenid' in input ? { payer: { openid: input.payerOpenid } } : {}),
  });
}

export const nativePrepayResponseSchema = z.looseObject({ code_url: z.string().min(1) });
export const jsapiPrepayResponseSchema = z.looseObject({ prepay_id: z.string().min(1) });
