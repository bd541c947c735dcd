import { z } from 'zod';

/** out_trade_no as WeChat Pay accepts it: 6–32 characters of letters, digits, `_`, `-`, `|`, `*`. */
export const outTradeNo = z.string().regex(/^[A-Za-z0-9_\-|*]{6,32}$/, {
  message: 'out_trade_no must be 6-32 characters of letters, digits, _ - | *',
});

/** RFC 3339 timestamp with an explicit offset (WeChat uses +08:00; paysync writes Z). */
export const rfc3339 = z.iso.datetime({ offset: true });

/** Money is integer fen. */
export const fen = z.number().int().nonnegative();

export const currency = z.string().regex(/^[A-Z]{3}$/);

/** Who or what produced a message, for tracing across services. */
export const producerName = z.string().min(1).max(64);

/** trade_state values WeChat Pay reports, plus ORDER_NOT_EXIST when a query finds no order. */
export const tradeState = z.enum([
  'SUCCESS',
  'REFUND',
  'NOTPAY',
  'CLOSED',
  'REVOKED',
  'USERPAYING',
  'PAYERROR',
  'ORDER_NOT_EXIST',
]);
export type TradeState = z.infer<typeof tradeState>;

/** Order status in paysync's database (the CHECK constraint of payment_orders). */
export const orderStatus = z.enum(['pending', 'paid', 'failed', 'cancelled', 'refunded', 'expired']);
export type OrderStatus = z.infer<typeof orderStatus>;

export const observationSource = z.enum(['notification', 'query', 'manual']);
export type ObservationSource = z.infer<typeof observationSource>;
