import type { OrderStatus } from '@paysync/contracts';
import type { TradeBillRow } from '@paysync/wechatpay';
import { ReconcileError } from './errors.ts';

/** What kind of difference between WeChat Pay's trade bill and the books. */
export type DifferenceClass =
  | 'paid_not_settled'
  | 'unknown_order'
  | 'missing_at_wechat'
  | 'amount_mismatch'
  | 'refund_not_reversed'
  | 'reversal_not_at_wechat'
  | 'refund_processing'
  | 'revoked'
  | 'file_integrity'
  | 'no_statement';

export type Severity = 'info' | 'warning' | 'critical';
export type DifferenceAction = 'query_order' | 'query_refund' | 'hold' | 'alert' | 'report';

/** Each class's action and severity: the one place they are decided. */
export const DIFFERENCE_RULES: Readonly<
  Record<DifferenceClass, { action: DifferenceAction; severity: Severity }>
> = Object.freeze({
  // Paid at WeChat, not paid here: query it; the ledger settles it from WeChat's signed answer.
  paid_not_settled: { action: 'query_order', severity: 'warning' },
  // Paid at WeChat, no such order here (another system on the mchid? a lost insert?).
  unknown_order: { action: 'report', severity: 'critical' },
  // Paid here, absent from the bill: held over the day boundary, then critical (see escalate).
  missing_at_wechat: { action: 'hold', severity: 'warning' },
  amount_mismatch: { action: 'alert', severity: 'critical' },
  // Refunded at WeChat, not reversed here: query the refund and apply it through the refund path.
  refund_not_reversed: { action: 'query_refund', severity: 'critical' },
  // Reversed here, no refund in the bill: held like a payment, then critical.
  reversal_not_at_wechat: { action: 'hold', severity: 'warning' },
  // The bill froze the refund while PROCESSING: queried again, not judged.
  refund_processing: { action: 'query_refund', severity: 'info' },
  revoked: { action: 'report', severity: 'warning' },
  file_integrity: { action: 'alert', severity: 'critical' },
  // NO_STATEMENT_EXIST on a day paysync holds paid orders.
  no_statement: { action: 'alert', severity: 'critical' },
});

export const DIFFERENCE_CLASSES = Object.keys(DIFFERENCE_RULES) as DifferenceClass[];

/** What a held difference becomes when later bills still lack it. */
export const ESCALATED: Readonly<
  Record<'missing_at_wechat' | 'reversal_not_at_wechat', { action: DifferenceAction; severity: Severity }>
> = Object.freeze({
  missing_at_wechat: { action: 'alert', severity: 'critical' },
  reversal_not_at_wechat: { action: 'query_refund', severity: 'critical' },
});

export interface Difference {
  class: DifferenceClass;
  /** The out_refund_no for refund classes, else the out_trade_no (or the bill day). */
  refKey: string;
  outTradeNo: string | null;
  outRefundNo: string | null;
  severity: Severity;
  action: DifferenceAction;
  ours: Record<string, unknown> | null;
  theirs: Record<string, unknown> | null;
}

export function difference(
  cls: DifferenceClass,
  keys: { outTradeNo?: string | null; outRefundNo?: string | null; refKey?: string },
  ours: Record<string, unknown> | null,
  theirs: Record<string, unknown> | null,
): Difference {
  const outTradeNo = keys.outTradeNo || null;
  const outRefundNo = keys.outRefundNo || null;
  return {
    class: cls,
    refKey: keys.refKey ?? outRefundNo ?? outTradeNo ?? '',
    outTradeNo,
    outRefundNo,
    ...DIFFERENCE_RULES[cls],
    ours,
    theirs,
  };
}

/** Our side of an order, as much as the diff needs. */
export interface BookedOrder {
  outTradeNo: string;
  status: OrderStatus;
  amountTotal: number;
}

/** Reads the books; BillStore is the MariaDB one. */
export interface BillBooks {
  orders(outTradeNos: readonly string[]): Promise<Map<string, BookedOrder>>;
  /** The out_refund_nos reversed here for these orders. */
  reversals(outTradeNos: readonly string[]): Promise<Set<string>>;
  /** Orders paid here (paid or refunded) with success_time in [start, end), in pages. */
  paidBetween(
    mchid: string,
    start: Date,
    end: Date,
    visit: (orders: (BookedOrder & { successTime: Date })[]) => void,
  ): Promise<void>;
  /** Refund reversals booked here in [start, end), in pages. */
  reversalsBetween(
    mchid: string,
    start: Date,
    end: Date,
    visit: (reversals: { outTradeNo: string; outRefundNo: string; createdAt: Date }[]) => void,
  ): Promise<void>;
}

/** Too many differences: almost surely the wrong merchant's bill or the wrong database. */
export class TooManyDifferencesError extends ReconcileError {
  constructor(max: number) {
    super(
      'TOO_MANY_DIFFERENCES',
      `more than ${max} differences: is this the right merchant's bill and database?`,
    );
  }
}

const PAID_HERE = new Set<OrderStatus>(['paid', 'refunded']);

const theirsOf = (row: TradeBillRow) => ({
  line: row.line,
  trade_time: row.tradeTime.toISOString(),
  trade_state: row.tradeState,
  transaction_id: row.transactionId,
  order_total: row.orderTotal,
  ...(row.tradeState === 'REFUND'
    ? { refund_id: row.refundId, refund_amount: row.refundAmount, refund_status: row.refundStatus }
    : {}),
});

/**
 * Compares a bill with the books in both directions. Feed it the bill's rows in batches (it only
 * reads the books), then call finish() for the other direction. Nothing is written or acted on here.
 */
export class BillDiffer {
  readonly #books: BillBooks;
  readonly #mchid: string;
  readonly #day: { start: Date; end: Date };
  readonly #max: number;
  readonly #payments = new Set<string>();
  readonly #refunds = new Set<string>();
  readonly #differences: Difference[] = [];
  /** Keys (out_trade_no / out_refund_no) an earlier bill's held differences wait for. */
  readonly #awaited: ReadonlySet<string>;
  readonly found = new Set<string>();

  constructor(
    books: BillBooks,
    options: {
      mchid: string;
      day: { start: Date; end: Date };
      maxDifferences: number;
      awaited?: ReadonlySet<string>;
    },
  ) {
    this.#books = books;
    this.#mchid = options.mchid;
    this.#day = options.day;
    this.#max = options.maxDifferences;
    this.#awaited = options.awaited ?? new Set();
  }

  #add(d: Difference): void {
    this.#differences.push(d);
    if (this.#differences.length > this.#max) throw new TooManyDifferencesError(this.#max);
  }

  async rows(rows: readonly TradeBillRow[]): Promise<void> {
    const orderNos = [...new Set(rows.map((r) => r.outTradeNo))];
    const refundRows = rows.filter((r) => r.tradeState === 'REFUND');
    const [orders, reversed] = await Promise.all([
      this.#books.orders(orderNos),
      refundRows.length > 0
        ? this.#books.reversals([...new Set(refundRows.map((r) => r.outTradeNo))])
        : Promise.resolve(new Set<string>()),
    ]);
    for (const row of rows) {
      const order = orders.get(row.outTradeNo);
      const ours = order ? { status: order.status, amount_total: order.amountTotal } : null;
      const keys = { outTradeNo: row.outTradeNo, outRefundNo: row.outRefundNo };
      if (row.tradeState === 'SUCCESS') {
        this.#payments.add(row.outTradeNo);
        if (this.#awaited.has(row.outTradeNo)) this.found.add(row.outTradeNo);
        if (!order) this.#add(difference('unknown_order', keys, null, theirsOf(row)));
        else if (!PAID_HERE.has(order.status))
          this.#add(difference('paid_not_settled', keys, ours, theirsOf(row)));
        else if (order.amountTotal !== row.orderTotal)
          this.#add(difference('amount_mismatch', keys, ours, theirsOf(row)));
      } else if (row.tradeState === 'REFUND') {
        this.#refunds.add(row.outRefundNo);
        if (this.#awaited.has(row.outRefundNo)) this.found.add(row.outRefundNo);
        const isReversed = reversed.has(row.outRefundNo);
        const withReversal = { ...ours, reversed: isReversed };
        if (row.refundStatus === 'PROCESSING')
          this.#add(difference('refund_processing', keys, withReversal, theirsOf(row)));
        else if (row.refundStatus === 'SUCCESS' && !isReversed)
          this.#add(difference('refund_not_reversed', keys, withReversal, theirsOf(row)));
        else if (row.refundStatus !== 'SUCCESS' && isReversed)
          // CLOSED / ABNORMAL: no money went back, yet the points were taken.
          this.#add(difference('reversal_not_at_wechat', keys, withReversal, theirsOf(row)));
      } else {
        this.#add(difference('revoked', keys, ours, theirsOf(row)));
      }
    }
  }

  /** The other direction: what the books hold for the day that the bill lacks. */
  async finish(): Promise<Difference[]> {
    await this.#books.paidBetween(this.#mchid, this.#day.start, this.#day.end, (orders) => {
      for (const o of orders)
        if (!this.#payments.has(o.outTradeNo))
          this.#add(
            difference(
              'missing_at_wechat',
              { outTradeNo: o.outTradeNo },
              { status: o.status, amount_total: o.amountTotal, success_time: o.successTime.toISOString() },
              null,
            ),
          );
    });
    await this.#books.reversalsBetween(this.#mchid, this.#day.start, this.#day.end, (reversals) => {
      for (const r of reversals)
        if (!this.#refunds.has(r.outRefundNo))
          this.#add(
            difference(
              'reversal_not_at_wechat',
              { outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo },
              { reversed_at: r.createdAt.toISOString() },
              null,
            ),
          );
    });
    return this.#differences;
  }
}
