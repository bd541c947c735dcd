/**
 * The trade bill's column names (`bill_type=ALL`), as WeChat Pay writes them. Columns are found by
 * name, so an older merchant's legacy names work too.
 */
export const TRADE_BILL_ALL_HEADER = [
  '交易时间',
  '公众账号ID',
  '商户号',
  '特约商户号',
  '设备号',
  '微信订单号',
  '商户订单号',
  '用户标识',
  '交易类型',
  '交易状态',
  '付款银行',
  '货币种类',
  '应结订单金额',
  '代金券金额',
  '微信退款单号',
  '商户退款单号',
  '退款金额',
  '充值券退款金额',
  '退款类型',
  '退款状态',
  '商品名称',
  '商户数据包',
  '手续费',
  '费率',
  '订单金额',
  '申请退款金额',
  '费率备注',
] as const;

export const TRADE_BILL_ALL_SUMMARY_HEADER = [
  '总交易单数',
  '应结订单总金额',
  '退款总金额',
  '充值券退款总金额',
  '手续费总金额',
  '订单总金额',
  '申请退款总金额',
] as const;

/** Old names some merchants still get → today's name. */
export const LEGACY_COLUMN_NAMES: Readonly<Record<string, string>> = Object.freeze({
  总金额: '应结订单金额',
  企业红包金额: '代金券金额',
});

/** The columns the reconciliation reads; a bill without one of them is refused. */
export const REQUIRED_COLUMNS = [
  '交易时间',
  '商户号',
  '微信订单号',
  '商户订单号',
  '交易类型',
  '交易状态',
  '应结订单金额',
  '微信退款单号',
  '商户退款单号',
  '退款金额',
  '充值券退款金额',
  '退款状态',
  '手续费',
  '订单金额',
  '申请退款金额',
] as const;

/** 交易状态 values. */
export type BillTradeState = 'SUCCESS' | 'REFUND' | 'REVOKED';
export const BILL_TRADE_STATES: readonly BillTradeState[] = ['SUCCESS', 'REFUND', 'REVOKED'];
