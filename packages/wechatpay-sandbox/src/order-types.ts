export type TradeType = 'NATIVE' | 'JSAPI';
export type TradeState = 'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR';
export type RefundStatus = 'PROCESSING' | 'SUCCESS' | 'CLOSED' | 'ABNORMAL';
/** Where the money goes: the original way, or elsewhere after an ABNORMAL refund was handled. */
export type RefundChannel = 'ORIGINAL' | 'BALANCE' | 'OTHER_BALANCE' | 'OTHER_BANKCARD';
/** Who started the refund: the merchant's refund API call, or someone in the merchant platform. */
export type RefundSource = 'api' | 'merchant_platform';

export const TRADE_STATE_DESC: Record<TradeState, string> = {
  SUCCESS: '支付成功',
  REFUND: '转入退款',
  NOTPAY: '订单未支付',
  CLOSED: '订单已关闭',
  REVOKED: '已撤销（付款码支付）',
  USERPAYING: '用户支付中（付款码支付）',
  PAYERROR: '支付失败，请重新下单支付',
};

export interface Refund {
  refundId: string;
  outRefundNo: string;
  outTradeNo: string;
  transactionId: string;
  mchid: string;
  reason: string | undefined;
  notifyUrl: string;
  status: RefundStatus;
  createTime: number;
  successTime: number | undefined;
  amount: number;
  channel: RefundChannel;
  /** `user_received_account`: 支付用户零钱, or the bank card an ABNORMAL refund was sent to. */
  userReceivedAccount: string;
  source: RefundSource;
  /** Bumped on every status change: a scheduled completion only applies to the state it was made for. */
  version: number;
}

export interface Order {
  mchid: string;
  appid: string;
  outTradeNo: string;
  tradeType: TradeType;
  description: string;
  notifyUrl: string;
  attach: string | undefined;
  /** time_expire exactly as the merchant sent it. */
  timeExpire: string | undefined;
  /** Last moment the order can be paid (ms); 7 days after creation without time_expire. */
  payableUntil: number;
  total: number;
  currency: 'CNY';
  /** JSAPI orders name their payer at creation. */
  payerOpenid: string | undefined;
  createdAt: number;
  prepayId: string | undefined;
  codeUrl: string | undefined;
  /** Canonical JSON of the prepay request, to tell a retry from a conflicting reuse of out_trade_no. */
  fingerprint: string;
  tradeState: TradeState;
  transactionId: string | undefined;
  successTime: number | undefined;
  bankType: string | undefined;
  payerTotal: number | undefined;
  closedAt: number | undefined;
  refunds: Refund[];
}

/** The transaction resource exactly as WeChat returns it from queries and puts into notifications. */
export interface TransactionResource {
  appid: string;
  mchid: string;
  out_trade_no: string;
  transaction_id?: string;
  trade_type?: TradeType;
  trade_state: TradeState;
  trade_state_desc: string;
  bank_type?: string;
  attach: string;
  success_time?: string;
  payer?: { openid: string };
  amount: { total: number; payer_total?: number; currency: 'CNY'; payer_currency: 'CNY' };
  promotion_detail?: unknown[];
}

/** The refund resource as WeChat returns it and puts into REFUND.* notifications. */
export interface RefundResource {
  mchid: string;
  out_trade_no: string;
  transaction_id: string;
  out_refund_no: string;
  refund_id: string;
  refund_status: RefundStatus;
  success_time?: string;
  user_received_account: string;
  amount: { total: number; refund: number; payer_total: number; payer_refund: number; currency?: 'CNY' };
}
