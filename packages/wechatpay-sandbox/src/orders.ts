import { paramError, resourceNotExists, SandboxError } from './errors.ts';
import type { Order, Refund, RefundSource, RefundStatus, TradeType } from './order-types.ts';
import { randomAlphanumeric, randomDigits } from './random.ts';
import { OUT_REFUND_NO, type PrepayRequest } from './schemas.ts';
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

export interface AbnormalRefundHandling {
  type: 'USER_BANK_CARD' | 'MERCHANT_BANK_CARD';
  /** 开户银行, e.g. ICBC_DEBIT (USER_BANK_CARD only). */
  bankType?: string | undefined;
}

/** WeChat: at most 50 (partial) refunds per paid order. */
export const MAX_REFUNDS_PER_ORDER = 50;

const USER_CHANGE = '支付用户零钱';

const BANKS: Record<string, string> = {
  ICBC: '工商银行',
  ABC: '农业银行',
  BOC: '中国银行',
  CCB: '建设银行',
  CMB: '招商银行',
  COMM: '交通银行',
  SPDB: '浦发银行',
  CITIC: '中信银行',
  CEB: '光大银行',
  CMBC: '民生银行',
  CIB: '兴业银行',
  GDB: '广发银行',
  PAB: '平安银行',
  PSBC: '邮储银行',
  NBCB: '宁波银行',
};

function bankName(bankType: string | undefined): string {
  const code = (bankType ?? '').replace(/_(DEBIT|CREDIT)$/, '');
  return BANKS[code] ?? (code || '银行');
}

/** What is refunded or being refunded: every refund from its acceptance on, except CLOSED ones. */
export function refundedOf(order: Order): number {
  return order.refunds.filter((r) => r.status !== 'CLOSED').reduce((sum, r) => sum + r.amount, 0);
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

  /**
   * Accepts a refund (status PROCESSING) and moves the order to REFUND, with WeChat's rules: only a
   * paid order can be refunded (an unpaid one is "订单不存在" to the refund API: it has no
   * transaction yet); the same out_refund_no again is the same refund (its order and amount must
   * match); at most 50 refunds per order; never more than what is left (CLOSED refunds give their
   * amount back). `gate` runs after every check, just before a new refund would be created (the
   * NOT_ENOUGH fault throws there). `created` is false for a repeated request.
   */
  refund(
    order: Order,
    options: RefundOptions & { source?: RefundSource } = {},
    gate: () => void = () => {},
  ): { refund: Refund; created: boolean } {
    if ((order.tradeState !== 'SUCCESS' && order.tradeState !== 'REFUND') || !order.transactionId)
      throw resourceNotExists('订单不存在');
    const outRefundNo = options.outRefundNo ?? `R${randomDigits(20)}`;
    if (!OUT_REFUND_NO.test(outRefundNo)) throw paramError('out_refund_no 格式错误');
    if (options.amount !== undefined && (!Number.isInteger(options.amount) || options.amount < 1))
      throw paramError('退款金额必须是大于 0 的整数（分）');
    const same = this.#refunds.get(key(order.mchid, outRefundNo));
    if (same) {
      if (same.order !== order)
        throw conflict('INVALID_REQUEST', '商户退款单号已用于另一笔订单的退款，请更换退款单号');
      if (options.amount !== undefined && options.amount !== same.refund.amount)
        throw conflict('INVALID_REQUEST', '同一商户退款单号的退款金额与原退款申请不一致');
      return { refund: same.refund, created: false };
    }
    if (order.refunds.length >= MAX_REFUNDS_PER_ORDER)
      throw conflict('INVALID_REQUEST', `退款次数超过限制：每笔订单最多退款 ${MAX_REFUNDS_PER_ORDER} 次`);
    const remaining = order.total - refundedOf(order);
    const amount = options.amount ?? remaining;
    if (amount < 1 || amount > remaining) throw conflict('INVALID_REQUEST', '申请退款金额超过订单可退金额');
    gate();
    const now = this.#clock();
    const refund: Refund = {
      refundId: `50000${randomDigits(5)}${beijingDate(now)}${randomDigits(11)}`,
      outRefundNo,
      outTradeNo: order.outTradeNo,
      transactionId: order.transactionId,
      mchid: order.mchid,
      reason: options.reason,
      notifyUrl: options.notifyUrl ?? order.notifyUrl,
      status: 'PROCESSING',
      createTime: now,
      successTime: undefined,
      amount,
      channel: 'ORIGINAL',
      userReceivedAccount: USER_CHANGE,
      source: options.source ?? 'api',
      version: 0,
    };
    order.refunds.push(refund);
    order.tradeState = 'REFUND';
    this.#refunds.set(key(order.mchid, outRefundNo), { order, refund });
    return { refund, created: true };
  }

  /**
   * The refund reaches a state. From PROCESSING: SUCCESS, ABNORMAL or CLOSED; from ABNORMAL (not
   * final: a person handles it): SUCCESS or CLOSED. SUCCESS and CLOSED are final.
   */
  settleRefund(refund: Refund, status: Exclude<RefundStatus, 'PROCESSING'>): Refund {
    if (refund.status === 'SUCCESS' || refund.status === 'CLOSED')
      throw conflict('INVALID_REQUEST', `退款单已是终态（${refund.status}），不能再变更`);
    if (refund.status === 'ABNORMAL' && status === 'ABNORMAL')
      throw conflict('INVALID_REQUEST', '退款单已是退款异常状态');
    refund.status = status;
    refund.version += 1;
    if (status === 'SUCCESS') refund.successTime = this.#clock();
    return refund;
  }

  /** 发起异常退款: an ABNORMAL refund goes again (PROCESSING) to another card or the merchant's account. */
  applyAbnormalRefund(refund: Refund, handling: AbnormalRefundHandling): Refund {
    if (refund.status !== 'ABNORMAL')
      throw conflict('INVALID_REQUEST', '退款单状态不是退款异常，不能发起异常退款');
    refund.status = 'PROCESSING';
    refund.version += 1;
    refund.channel = 'OTHER_BANKCARD';
    refund.userReceivedAccount =
      handling.type === 'MERCHANT_BANK_CARD' ? '商户结算银行账户' : `${bankName(handling.bankType)}借记卡`;
    return refund;
  }

  getRefund(mchid: string, outRefundNo: string): { order: Order; refund: Refund } | undefined {
    return this.#refunds.get(key(mchid, outRefundNo));
  }

  /** Finds a refund by out_refund_no across merchants (control API); ambiguous without mchid. */
  findRefund(outRefundNo: string, mchid?: string): { order: Order; refund: Refund } {
    if (mchid !== undefined) {
      const found = this.getRefund(mchid, outRefundNo);
      if (!found) throw resourceNotExists('退款单不存在');
      return found;
    }
    const matches = [...this.#refunds.values()].filter((r) => r.refund.outRefundNo === outRefundNo);
    if (matches.length === 0) throw resourceNotExists('退款单不存在');
    if (matches.length > 1) throw paramError('several merchants have it: give mchid');
    return matches[0] as { order: Order; refund: Refund };
  }

  /** Every refund of every merchant, in the order they were accepted. */
  listRefunds(): { order: Order; refund: Refund }[] {
    return [...this.#refunds.values()];
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
