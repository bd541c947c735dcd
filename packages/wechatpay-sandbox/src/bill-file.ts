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

export function paymentLine(order: PaymentFacts): BillLine {
  const at = order.successTime ?? order.createdAt;
  const total = order.total;
  return {
    at,
    settlement: total,
    refund: 0,
    fee: feeUnits(total),
    order: total,
    requested: 0,
    fields: [
      billTime(at),
      order.appid,
      order.mchid,
      '0',
      '',
      order.transactionId ?? '',
      order.outTradeNo,
      order.payerOpenid ?? '',
      order.tradeType,
      'SUCCESS',
      order.bankType ?? 'OTHERS',
      'CNY',
      fenToYuan(total),
      '0.00',
      '0',
      '0',
      '0.00',
      '0.00',
      '',
      '',
      order.description,
      order.attach ?? '',
      feeText(feeUnits(total)),
      FEE_RATE_TEXT,
      fenToYuan(total),
      '0.00',
      '',
    ],
  };
}

export function refundLine(order: Order, refund: Refund): BillLine {
  return {
    at: refund.createTime,
    settlement: 0,
    refund: refund.amount,
    fee: 0,
    order: 0,
    requested: refund.amount,
    fields: [
      billTime(refund.createTime),
      order.appid,
      order.mchid,
      '0',
      '',
      order.transactionId ?? '',
      order.outTradeNo,
      order.payerOpenid ?? '',
      order.tradeType,
      'REFUND',
      order.bankType ?? 'OTHERS',
      'CNY',
      '0.00',
      '0.00',
      refund.refundId,
      refund.outRefundNo,
      fenToYuan(refund.amount),
      '0.00',
      'ORIGINAL',
      refund.status,
      order.description,
      order.attach ?? '',
      '0.00000',
      FEE_RATE_TEXT,
      '0.00',
      fenToYuan(refund.amount),
      '',
    ],
  };
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
