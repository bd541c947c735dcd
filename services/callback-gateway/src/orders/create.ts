import type { Clock } from '@paysync/contracts';
import type { Pool } from '@paysync/db';
import type { Logger } from '@paysync/observability';
import {
  type JsapiPayParams,
  WeChatPayApiError,
  type WeChatPayClient,
  WeChatPayError,
} from '@paysync/wechatpay';
import { errorSummary } from '../callback.ts';
import { type ApiErrorResult, apiError } from '../http/api-errors.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { newOutTradeNo } from './out-trade-no.ts';
import { beijingRfc3339, type CreateOrderRequest, createOrderRequest, validationIssues } from './schema.ts';
import {
  findByMerchantOrderNo,
  insertPendingOrder,
  type NewOrder,
  type OrderView,
  orderView,
  type StoredOrder,
} from './store.ts';

export type WeChatOrders = Pick<
  WeChatPayClient,
  'prepayNative' | 'prepayJsapi' | 'jsapiPayParams' | 'queryOrder' | 'createRefund' | 'queryRefund'
>;

export type OrderDeps = {
  pool: Pool;
  wechat: WeChatOrders;
  logger: Logger;
  metrics: GatewayMetrics;
  mchid: string;
  /** The app id new orders are created for. */
  appid: string;
  notifyUrl: string;
  firstCheckDelayMs: number;
  defaultTtlMs: number;
  /** Most points (with bonus) per fen paid: the caller never picks its own rate. */
  maxPointsPerFen: number;
  clock?: Clock;
  newOutTradeNo?: (now: Date) => string;
};

export type Payment = { code_url: string } | { jsapi: JsapiPayParams };

/** A success, or an error whose status is its code's (see API_ERROR_STATUS). */
export type ApiResult = { status: 200 | 201; body: Record<string, unknown> } | ApiErrorResult;

const MIN_TTL_MS = 60_000;
const MAX_TTL_MS = 7 * 86_400_000;

function badRequest(field: string, message: string, errors = [{ field, message }]): ApiResult {
  return apiError('VALIDATION_FAILED', `${field} ${message}`, { field, errors });
}

/** The last moment to pay, to the second, or a validation failure. */
function expiry(req: CreateOrderRequest, now: number, defaultTtlMs: number): Date | ApiResult {
  if (req.time_expire !== undefined) {
    const at = Date.parse(req.time_expire);
    if (at - now < MIN_TTL_MS || at - now > MAX_TTL_MS) {
      return badRequest('time_expire', 'must be between 60 seconds and 7 days from now');
    }
    return new Date(Math.floor(at / 1000) * 1000);
  }
  const ttl = req.expires_in_seconds !== undefined ? req.expires_in_seconds * 1000 : defaultTtlMs;
  return new Date(Math.floor((now + ttl) / 1000) * 1000);
}

/** Whether a repeated request asks for the same order (openid and relative expiry cannot be compared). */
function sameOrder(existing: StoredOrder, req: CreateOrderRequest, timeExpire: Date): string | undefined {
  const differs: string[] = [];
  if (existing.userId !== req.user_id) differs.push('user_id');
  if (existing.amountTotal !== req.amount_fen) differs.push('amount_fen');
  if (existing.points !== req.points) differs.push('points');
  if (existing.bonusPoints !== req.bonus_points) differs.push('bonus_points');
  if (existing.tradeType !== req.trade_type) differs.push('trade_type');
  if (existing.description !== req.description) differs.push('description');
  if (req.time_expire !== undefined && existing.timeExpire.getTime() !== timeExpire.getTime()) {
    differs.push('time_expire');
  }
  return differs.length > 0 ? differs.join(', ') : undefined;
}

async function prepay(
  deps: OrderDeps,
  order: StoredOrder | NewOrder,
  openid: string | undefined,
): Promise<Payment> {
  const input = {
    appid: order.appid,
    description: order.description,
    outTradeNo: order.outTradeNo,
    notifyUrl: deps.notifyUrl,
    amountTotal: order.amountTotal,
    timeExpire: beijingRfc3339(order.timeExpire),
  };
  if (order.tradeType === 'JSAPI') {
    const { prepayId } = await deps.wechat.prepayJsapi({ ...input, payerOpenid: openid ?? '' });
    return { jsapi: deps.wechat.jsapiPayParams(order.appid, prepayId) };
  }
  const { codeUrl } = await deps.wechat.prepayNative(input);
  return { code_url: codeUrl };
}

function respond(
  status: 200 | 201,
  view: OrderView,
  created: boolean,
  payable: boolean,
  payment?: Payment,
): ApiResult {
  return { status, body: { ...view, created, payable, payment: payment ?? null } };
}

/**
 * Creates a points-recharge order: inserts it pending with its first reconciler check scheduled,
 * then asks WeChat Pay for the prepay and returns what the front end pays with. Idempotent on
 * merchant_order_no: the same request again returns the same order (prepaying again, which WeChat
 * answers with the same prepay while the order is payable); a different request with the same
 * merchant_order_no is 409. When the prepay fails the order stays pending: the reconciler closes it
 * at expiry, and the caller may retry the same request.
 */
export async function createOrder(deps: OrderDeps, body: unknown): Promise<ApiResult> {
  const parsed = createOrderRequest.safeParse(body);
  if (!parsed.success) {
    const errors = validationIssues(parsed.error);
    const first = errors[0] ?? { field: '(body)', message: 'is invalid' };
    return badRequest(first.field, first.message, errors);
  }
  const req = parsed.data;
  const allowed = Math.floor(req.amount_fen * deps.maxPointsPerFen);
  if (req.points + req.bonus_points > allowed) {
    return apiError(
      'POINTS_EXCEED_RATE',
      `points + bonus_points may be at most ${allowed} for ${req.amount_fen} fen (GATEWAY_MAX_POINTS_PER_FEN ${deps.maxPointsPerFen})`,
      { field: 'points', max_points: allowed },
    );
  }
  const now = (deps.clock ?? Date.now)();
  const timeExpire = expiry(req, now, deps.defaultTtlMs);
  if (!(timeExpire instanceof Date)) return timeExpire;

  const generate = deps.newOutTradeNo ?? newOutTradeNo;
  const order: NewOrder = {
    outTradeNo: generate(new Date(now)),
    merchantOrderNo: req.merchant_order_no,
    userId: req.user_id,
    mchid: deps.mchid,
    appid: deps.appid,
    tradeType: req.trade_type,
    description: req.description,
    amountTotal: req.amount_fen,
    currency: 'CNY',
    points: req.points,
    bonusPoints: req.bonus_points,
    timeExpire,
    nextCheckAt: new Date(now + deps.firstCheckDelayMs),
    createdAt: new Date(now),
  };
  let outcome = await insertPendingOrder(deps.pool, order);
  for (let i = 0; outcome === 'duplicate_out_trade_no' && i < 3; i += 1) {
    order.outTradeNo = generate(new Date(now));
    outcome = await insertPendingOrder(deps.pool, order);
  }
  if (outcome === 'duplicate_out_trade_no') throw new Error('could not generate a unique out_trade_no');

  let stored: StoredOrder;
  const created = outcome === 'inserted';
  if (created) {
    stored = { ...order, status: 'pending', transactionId: null, successTime: null, settledAt: null };
  } else {
    const existing = await findByMerchantOrderNo(deps.pool, req.merchant_order_no);
    if (!existing) throw new Error('merchant_order_no is taken but its order cannot be read');
    const differs = sameOrder(existing, req, timeExpire);
    if (differs) {
      deps.metrics.ordersCreated.inc({ trade_type: req.trade_type, outcome: 'conflict' });
      return apiError(
        'MERCHANT_ORDER_NO_CONFLICT',
        `merchant_order_no is already used by an order with a different ${differs}`,
        { field: 'merchant_order_no', out_trade_no: existing.outTradeNo },
      );
    }
    stored = existing;
  }

  const status = created ? 201 : 200;
  const view = orderView(stored);
  const payable = stored.status === 'pending' && stored.timeExpire.getTime() > now;
  if (!payable) {
    deps.metrics.ordersCreated.inc({ trade_type: req.trade_type, outcome: 'repeated' });
    return respond(status, view, created, false);
  }
  try {
    const payment = await prepay(deps, stored, req.openid);
    deps.metrics.ordersCreated.inc({ trade_type: req.trade_type, outcome: created ? 'created' : 'repeated' });
    deps.logger.info(
      {
        out_trade_no: stored.outTradeNo,
        merchant_order_no: req.merchant_order_no,
        created,
        trade_type: req.trade_type,
      },
      'order ready to pay',
    );
    return respond(status, view, created, true, payment);
  } catch (err) {
    if (!(err instanceof WeChatPayError)) throw err;
    deps.metrics.ordersCreated.inc({ trade_type: req.trade_type, outcome: 'prepay_failed' });
    deps.logger.warn(
      { out_trade_no: stored.outTradeNo, error: errorSummary(err) },
      'prepay failed: the order stays pending and the reconciler will close it',
    );
    return apiError(
      'PREPAY_FAILED',
      'WeChat Pay did not accept the prepay; the order stays pending (the reconciler closes it at expiry). Retry the same request to try again.',
      {
        out_trade_no: stored.outTradeNo,
        wechat_error: err.code,
        ...(err instanceof WeChatPayApiError && err.wechatCode ? { wechat_code: err.wechatCode } : {}),
      },
    );
  }
}
