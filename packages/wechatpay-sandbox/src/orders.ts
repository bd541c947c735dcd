import { SandboxError } from './errors.ts';
import type { Order, Refund, RefundStatus, TradeType } from './order-types.ts';
import { randomAlphanumeric, randomDigits } from './random.ts';
import type { PrepayRequest } from './schemas.ts';
import { beijingDate, type Clock } from './time.ts';

const SEVEN_DAYS_MS = 7 * 24 * 3600_000;

export interface PayOptions {
  /** Payer's openid; JSAPI orders default to the openid given at prepay, Native to a generated one. */
  openid?: string;
  /** What the payer actually paid (fen); defaults to the order total. */
  payerTotal?: number;
  bankType?: string;
}

export interface RefundOptions {
  outRefundNo?: string;
  /** Fen; defaults to what is left to refund. */
  amount?: number;
  reason?: string;
  notifyUrl?: string;
}

const conflict = (code: string, message: string) => new SandboxError(400, code, message);

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** In-memory orders of every merchant the sandbox knows, with WeChat's state rules. */
export class OrderStore {
  readonly #clock: Clock;
  readonly #orders = new Map<string, Order>();
  readonly #byTransactionId = new Map<string, Order>();
  readonly #refunds = new Map<string, { order: Order; refund: Refund }>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Creates the order, or returns the existing one when the same request is repeated. */
  prepay(tradeType: TradeType, request: PrepayRequest): { order: Order; created: boolean } {
    const fingerprint = canonical({ tradeType, ...request });
    const existing = this.#orders.get(key(request.mchid, request.out_trade_no));
    if (existing) {
      if (existing.tradeState === 'SUCCESS' || existing.tradeState === 'REFUND')
        throw conflict('ORDERPAID', '该订单已支付');
      if (existing.tradeState === 'CLOSED') throw conflict('ORDER_CLOSED', '订单已关闭');
      if (existing.fingerprint !== fingerprint)
        throw conflict('INVALID_REQUEST', '201 商户订单号重复（同一 out_trade_no 的参数不一致）');
      return { order: existing, created: false };
    }
    const now = this.#clock();
    const payableUntil = request.time_expire ? Date.parse(request.time_expire) : now + SEVEN_DAYS_MS;
    if (payableUntil <= now) throw new SandboxError(400, 'PARAM_ERROR', 'time_expire 已过期');
    const order: Order = {
      mchid: request.mchid,
      appid: request.appid,
      outTradeNo: request.out_trade_no,
      tradeType,
      description: request.description,
      notifyUrl: request.notify_url,
      attach: request.attach,
      timeExpire: request.time_expire,
      payableUntil,
      total: request.amount.total,
      currency: 'CNY',
      payerOpenid: request.payer?.openid,
      createdAt: now,
      prepayId: tradeType === 'JSAPI' ? `wx${beijingDate(now)}${randomAlphanumeric(24)}` : undefined,
      codeUrl: tradeType === 'NATIVE' ? `weixin://wxpay/bizpayurl?pr=${randomAlphanumeric(7)}` : undefined,
      fingerprint,
      tradeState: 'NOTPAY',
      transactionId: undefined,
      successTime: undefined,
      bankType: undefined,
      payerTotal: undefined,
      closedAt: undefined,
      refunds: [],
    };
    this.#orders.set(key(order.mchid, order.outTradeNo), order);
    return { order, created: true };
  }

  get(mchid: string, outTradeNo: string): Order | undefined {
    return this.#orders.get(key(mchid, outTradeNo));
  }

  /** Finds an order by out_trade_no across merchants (control API); ambiguous without mchid. */
  find(outTradeNo: string, mchid?: string): Order {
    if (mchid !== undefined) {
      const order = this.get(mchid, outTradeNo);
      if (!order) throw new SandboxError(404, 'ORDER_NOT_EXIST', '订单不存在');
      return order;
    }
    const matches = [...this.#orders.values()].filter((o) => o.outTradeNo === outTradeNo);
    if (matches.length === 0) throw new SandboxError(404, 'ORDER_NOT_EXIST', '订单不存在');
    if (matches.length > 1)
      throw new SandboxError(400, 'PARAM_ERROR', 'several merchants have it: give mchid');
    return matches[0] as Order;
  }

  /** Only paid orders have a transaction_id, so only they are found by it. */
  getByTransactionId(mchid: string, transactionId: string): Order | undefined {
    const order = this.#byTransactionId.get(transactionId);
    return order && order.mchid === mchid ? order : undefined;
  }

  list(): Order[] {
    return [...this.#orders.values()];
  }

  /** The user pays: refused when closed, failed, paid already, or past time_expire. */
  pay(order: Order, options: PayOptions = {}): Order {
    this.#assertPayable(order);
    const now = this.#clock();
    order.tradeState = 'SUCCESS';
    order.transactionId = `42000${randomDigits(5)}${beijingDate(now)}${randomDigits(10)}`;
    order.successTime = now;
    order.payerOpenid = options.openid ?? order.payerOpenid ?? `o${randomAlphanumeric(27)}`;
    order.payerTotal = options.payerTotal ?? order.total;
    order.bankType = options.bankType ?? 'OTHERS';
    this.#byTransactionId.set(order.transactionId, order);
    return order;
  }

  /** The payment attempt failed (PAYERROR). No notification is sent for it. */
  fail(order: Order): Order {
    this.#assertPayable(order);
    order.tradeState = 'PAYERROR';
    return order;
  }

  /** The user is entering the password (USERPAYING). */
  userPaying(order: Order): Order {
    this.#assertPayable(order);
    order.tradeState = 'USERPAYING';
    return order;
  }

  /** Close: the order can no longer be paid. Closing a closed order is a no-op; a paid one is refused. */
  close(order: Order): Order {
    if (order.tradeState === 'SUCCESS' || order.tradeState === 'REFUND')
      throw conflict('ORDERPAID', '订单已支付，不能关闭');
    if (order.tradeState !== 'CLOSED') {
      order.tradeState = 'CLOSED';
      order.closedAt = this.#clock();
    }
    return order;
  }

  /** Starts a refund (status PROCESSING) and moves the order to REFUND. */
  refund(order: Order, options: RefundOptions = {}): Refund {
    if (order.tradeState !== 'SUCCESS' && order.tradeState !== 'REFUND')
      throw conflict('INVALID_REQUEST', '订单未支付，不能退款');
    const outRefundNo = options.outRefundNo ?? `R${randomDigits(20)}`;
    const same = this.#refunds.get(key(order.mchid, outRefundNo));
    if (same) {
      if (same.order !== order || (options.amount !== undefined && options.amount !== same.refund.amount))
        throw conflict('INVALID_REQUEST', '退款单号重复');
      return same.refund;
    }
    const refunded = order.refunds.filter((r) => r.status !== 'CLOSED').reduce((sum, r) => sum + r.amount, 0);
    const amount = options.amount ?? order.total - refunded;
    if (amount < 1 || refunded + amount > order.total)
      throw conflict('NOT_ENOUGH', '退款金额超过订单可退金额');
    const refund: Refund = {
      refundId: `50000${randomDigits(5)}${beijingDate(this.#clock())}${randomDigits(10)}`,
      outRefundNo,
      outTradeNo: order.outTradeNo,
      transactionId: order.transactionId as string,
      mchid: order.mchid,
      reason: options.reason,
      notifyUrl: options.notifyUrl ?? order.notifyUrl,
      status: 'PROCESSING',
      createTime: this.#clock(),
      successTime: undefined,
      amount,
    };
    order.refunds.push(refund);
    order.tradeState = 'REFUND';
    this.#refunds.set(key(order.mchid, outRefundNo), { order, refund });
    return refund;
  }

  /** The refund reaches a state: SUCCESS or CLOSED are final, ABNORMAL is not. */
  settleRefund(refund: Refund, status: Exclude<RefundStatus, 'PROCESSING'>): Refund {
    if (refund.status === 'SUCCESS' || refund.status === 'CLOSED')
      throw conflict('INVALID_REQUEST', 'refund already final');
    refund.status = status;
    if (status === 'SUCCESS') refund.successTime = this.#clock();
    return refund;
  }

  getRefund(mchid: string, outRefundNo: string): { order: Order; refund: Refund } | undefined {
    return this.#refunds.get(key(mchid, outRefundNo));
  }

  #assertPayable(order: Order): void {
    if (order.tradeState === 'SUCCESS' || order.tradeState === 'REFUND')
      throw conflict('ORDERPAID', '该订单已支付');
    if (order.tradeState === 'CLOSED') throw conflict('ORDER_CLOSED', '订单已关闭');
    if (order.tradeState === 'PAYERROR' || order.tradeState === 'REVOKED')
      throw conflict('INVALID_REQUEST', '支付失败的订单不能再支付');
    if (this.#clock() > order.payableUntil) throw conflict('ORDER_EXPIRED', '订单已过 time_expire，不能支付');
  }
}

function key(mchid: string, no: string): string {
  return `${mchid}\u0000${no}`;
}
