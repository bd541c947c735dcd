import type { Order, Refund, RefundResource, TransactionResource } from './order-types.ts';
import { TRADE_STATE_DESC } from './order-types.ts';
import { beijingTime } from './time.ts';

const PAID = new Set(['SUCCESS', 'REFUND']);

/** The order as WeChat's query answers (and a TRANSACTION.SUCCESS notification carries) it. */
export function transactionResource(order: Order): TransactionResource {
  const base: TransactionResource = {
    appid: order.appid,
    mchid: order.mchid,
    out_trade_no: order.outTradeNo,
    trade_state: order.tradeState,
    trade_state_desc: TRADE_STATE_DESC[order.tradeState],
    attach: order.attach ?? '',
    amount: { total: order.total, currency: order.currency, payer_currency: 'CNY' },
  };
  if (!PAID.has(order.tradeState) || order.transactionId === undefined) return base;
  return {
    appid: order.appid,
    mchid: order.mchid,
    out_trade_no: order.outTradeNo,
    transaction_id: order.transactionId,
    trade_type: order.tradeType,
    trade_state: order.tradeState,
    trade_state_desc: TRADE_STATE_DESC[order.tradeState],
    bank_type: order.bankType ?? 'OTHERS',
    attach: order.attach ?? '',
    success_time: beijingTime(order.successTime ?? order.createdAt),
    payer: { openid: order.payerOpenid ?? '' },
    amount: {
      total: order.total,
      payer_total: order.payerTotal ?? order.total,
      currency: order.currency,
      payer_currency: 'CNY',
    },
    promotion_detail: [],
  };
}

/**
 * The refund as a REFUND.* notification carries it: mchid, out_trade_no, transaction_id,
 * out_refund_no, refund_id, refund_status, success_time (SUCCESS only), user_received_account,
 * amount {total, refund, payer_total, payer_refund}.
 */
export function refundResource(order: Order, refund: Refund): RefundResource {
  const resource: RefundResource = {
    mchid: refund.mchid,
    out_trade_no: refund.outTradeNo,
    transaction_id: refund.transactionId,
    out_refund_no: refund.outRefundNo,
    refund_id: refund.refundId,
    refund_status: refund.status,
    user_received_account: refund.userReceivedAccount,
    amount: {
      total: order.total,
      refund: refund.amount,
      payer_total: order.payerTotal ?? order.total,
      payer_refund: refund.amount,
    },
  };
  if (refund.status === 'SUCCESS' && refund.successTime !== undefined)
    resource.success_time = beijingTime(refund.successTime);
  return resource;
}

/** The refund as the refund API answers it: create, query and apply-abnormal-refund alike. */
export interface RefundApiView {
  refund_id: string;
  out_refund_no: string;
  transaction_id: string;
  out_trade_no: string;
  channel: Refund['channel'];
  user_received_account: string;
  /** Only when status is SUCCESS. */
  success_time?: string;
  create_time: string;
  status: Refund['status'];
  funds_account: string;
  amount: {
    total: number;
    refund: number;
    payer_total: number;
    payer_refund: number;
    settlement_refund: number;
    settlement_total: number;
    discount_refund: number;
    currency: 'CNY';
  };
  promotion_detail: unknown[];
}

export function refundApiView(order: Order, refund: Refund): RefundApiView {
  return {
    refund_id: refund.refundId,
    out_refund_no: refund.outRefundNo,
    transaction_id: refund.transactionId,
    out_trade_no: refund.outTradeNo,
    channel: refund.channel,
    user_received_account: refund.userReceivedAccount,
    ...(refund.status === 'SUCCESS' && refund.successTime !== undefined
      ? { success_time: beijingTime(refund.successTime) }
      : {}),
    create_time: beijingTime(refund.createTime),
    status: refund.status,
    funds_account: 'AVAILABLE',
    amount: {
      total: order.total,
      refund: refund.amount,
      payer_total: order.payerTotal ?? order.total,
      payer_refund: refund.amount,
      settlement_refund: refund.amount,
      settlement_total: order.total,
      discount_refund: 0,
      currency: 'CNY',
    },
    promotion_detail: [],
  };
}

/** The control API's view of a refund: the API's answer plus what the sandbox knows about it. */
export interface RefundView extends RefundApiView {
  mchid: string;
  /** `api` (the refund API) or `merchant_platform` (the control refund). */
  source: Refund['source'];
  notify_url: string;
  reason?: string;
}

export function refundView(order: Order, refund: Refund): RefundView {
  return {
    ...refundApiView(order, refund),
    mchid: refund.mchid,
    source: refund.source,
    notify_url: refund.notifyUrl,
    ...(refund.reason === undefined ? {} : { reason: refund.reason }),
  };
}

/** The control API's view of an order: the query shape plus what the sandbox knows about it. */
export interface OrderView extends TransactionResource {
  trade_type: Order['tradeType'];
  notify_url: string;
  description: string;
  time_expire?: string;
  /** Last moment the order can be paid (RFC 3339, +08:00). */
  payable_until: string;
  create_time: string;
  prepay_id?: string;
  code_url?: string;
  refunds: RefundApiView[];
}

export function orderView(order: Order): OrderView {
  return {
    ...transactionResource(order),
    trade_type: order.tradeType,
    notify_url: order.notifyUrl,
    description: order.description,
    ...(order.timeExpire === undefined ? {} : { time_expire: order.timeExpire }),
    payable_until: beijingTime(order.payableUntil),
    create_time: beijingTime(order.createdAt),
    ...(order.prepayId === undefined ? {} : { prepay_id: order.prepayId }),
    ...(order.codeUrl === undefined ? {} : { code_url: order.codeUrl }),
    refunds: order.refunds.map((refund) => refundApiView(order, refund)),
  };
}
