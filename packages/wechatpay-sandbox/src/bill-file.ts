import { fenToYuan, TRADE_BILL_ALL_HEADER, TRADE_BILL_ALL_SUMMARY_HEADER } from '@paysync/wechatpay';
import type { Order, Refund } from './order-types.ts';
import { beijingTime } from './time.ts';

/** The sandbox's fee rate: 0.6%, written as WeChat writes it. */
const FEE_RATE_TEXT = '0.60%';
/** Fee in 0.00001 yuan for an amount in fen at 0.6%: fen × 1000 × 0.006. */
const feeUnits = (fen: number) => fen * 6;
const feeText = (units: number) => {
  const s = String(units).padStart(6, '0');
  return `${s.slice(0, -5)}.${s.slice(-5)}`;
};

/** `2024-05-20 13:29:35`: Beijing local time without offset, as the bill writes it. */
export function billTime(ms: number): string {
  return beijingTime(ms).slice(0, 19).replace('T', ' ');
}

export interface BillLine {
  at: number;
  fields: string[];
  settlement: number;
  refund: number;
  fee: number;
  order: number;
  requested: number;
}

/** What a payment row says about an order. */
export type PaymentFacts = Pick<
  Order,
  | 'appid'
  | 'mchid'
  | 'transactionId'
  | 'outTradeNo'
  | 'payerOpenid'
  | 'tradeType'
  | 'bankType'
  | 'description'
  | 'attach'
  | 'total'
  | 'successTime'
  | 'createdAt'
>;

/** What differs between a payment row and a refund row. */
interface RowFacts {
  at: number;
  state: 'SUCCESS' | 'REFUND';
  settlement: number;
  refund: number;
  fee: number;
  order: number;
  requested: number;
  refundId: string;
  outRefundNo: string;
  refundType: string;
  refundStatus: string;
}

function line(order: PaymentFacts, f: RowFacts): BillLine {
  return {
    at: f.at,
    settlement: f.settlement,
    refund: f.refund,
    fee: f.fee,
    order: f.order,
    requested: f.requested,
    fields: [
      billTime(f.at),
      order.appid,
      order.mchid,
      '0',
      '',
      order.transactionId ?? '',
      order.outTradeNo,
      order.payerOpenid ?? '',
      order.tradeType,
      f.state,
      order.bankType ?? 'OTHERS',
      'CNY',
      fenToYuan(f.settlement),
      '0.00',
      f.refundId,
      f.outRefundNo,
      fenToYuan(f.refund),
      '0.00',
      f.refundType,
      f.refundStatus,
      order.description,
      order.attach ?? '',
      feeText(f.fee),
      FEE_RATE_TEXT,
      fenToYuan(f.order),
      fenToYuan(f.requested),
      '',
    ],
  };
}

/** A payment row: dated by its payment time; the refund columns carry `0`. */
export function paymentLine(order: PaymentFacts): BillLine {
  const total = order.total;
  return line(order, {
    at: order.successTime ?? order.createdAt,
    state: 'SUCCESS',
    settlement: total,
    refund: 0,
    fee: feeUnits(total),
    order: total,
    requested: 0,
    refundId: '0',
    outRefundNo: '0',
    refundType: '',
    refundStatus: '',
  });
}

/** A refund row: dated when the refund was accepted, its status as it is now (frozen in the file). */
export function refundLine(order: Order, refund: Refund): BillLine {
  return line(order, {
    at: refund.createTime,
    state: 'REFUND',
    settlement: 0,
    refund: refund.amount,
    fee: 0,
    order: 0,
    requested: refund.amount,
    refundId: refund.refundId,
    outRefundNo: refund.outRefundNo,
    refundType: 'ORIGINAL',
    refundStatus: refund.status,
  });
}

/**
 * A trade bill (`bill_type=ALL`) in WeChat's exact format: UTF-8 BOM, CRLF, the bare detail header,
 * backtick-prefixed detail fields, the summary header and the summary row (yuan, count as `n.0`).
 */
export function tradeBillText(lines: readonly BillLine[]): Buffer {
  const sorted = [...lines].sort((a, b) => a.at - b.at);
  const sum = (pick: (l: BillLine) => number) => sorted.reduce((s, l) => s + pick(l), 0);
  const feeFen = Math.floor((sum((l) => l.fee) + 500) / 1000);
  const out = [TRADE_BILL_ALL_HEADER.join(',')];
  for (const l of sorted) out.push(l.fields.map((f) => `\`${f}`).join(','));
  out.push(TRADE_BILL_ALL_SUMMARY_HEADER.join(','));
  out.push(
    [
      `${sorted.length}.0`,
      fenToYuan(sum((l) => l.settlement)),
      fenToYuan(sum((l) => l.refund)),
      '0.00',
      fenToYuan(feeFen),
      fenToYuan(sum((l) => l.order)),
      fenToYuan(sum((l) => l.requested)),
    ]
      .map((f) => `\`${f}`)
      .join(','),
  );
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${out.join('\r\n')}\r\n`, 'utf8')]);
}
