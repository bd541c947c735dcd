import type { OrderStatus } from '@paysync/contracts';
import type { TradeBillBatch, TradeBillRow } from '@paysync/wechatpay';
import { PaidOrderSet } from './bill-paid-set.ts';
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
  /**
   * Adds the orders paid here (paid or refunded) with success_time in [start, end) to `into`
   * (out_trade_no → packOrder) and resolves to how many there were.
   */
  paidBetween(mchid: string, start: Date, end: Date, into: PaidOrderSet): Promise<number>;
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
/** Rows the books are asked about at once (see BillDiffer's lookUp). */
const LOOKUP_ROWS = 1000;

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

/** The books' day, compactly: amount in fen × 2, + 1 when refunded (a number, no object per order). */
export const packOrder = (amountTotal: number, refunded: boolean): number =>
  amountTotal * 2 + (refunded ? 1 : 0);
const statusOf = (packed: number): OrderStatus => (packed % 2 === 1 ? 'refunded' : 'paid');
const amountOf = (packed: number): number => Math.floor(packed / 2);

/**
 * Compares a bill with the books in both directions. First it reads the orders paid here that day
 * (index range scans in time windows) into a compact set (PaidOrderSet: flat typed arrays, ~50
 * bytes an order); each payment row of the bill is checked against it and taken out, so only rows it
 * does not hold (unpaid here, unknown, paid on another day, refunds) cost a lookup in the books, a
 * thousand at a time; what remains at the end is paid here and absent from the bill. Feed it the
 * bill's batches (parseTradeBill's onRows), then call finish(). It only reads: nothing is written or
 * acted on here.
 */
export class BillDiffer {
  readonly #books: BillBooks;
  readonly #mchid: string;
  readonly #day: { start: Date; end: Date };
  readonly #max: number;
  /** Orders paid here that day and not (yet) seen in the bill: out_trade_no → packed. */
  readonly #paidHere = new PaidOrderSet();
  /** A batch's payment rows: where each 商户订单号 is, what the lookup found, which row it is. */
  #starts = new Int32Array(0);
  #ends = new Int32Array(0);
  #values = new Float64Array(0);
  #rowOf = new Int32Array(0);
  #pending: TradeBillRow[] = [];
  #loaded: Promise<void> | undefined;
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

  /**
   * Starts reading the books' side of the day now (it reads no bill row): the run overlaps it with
   * the download and the SHA-1 check. A failure surfaces at the first rows() or finish().
   */
  prefetch(): void {
    this.#load().catch(() => {});
  }

  #load(): Promise<void> {
    this.#loaded ??= this.#books
      .paidBetween(this.#mchid, this.#day.start, this.#day.end, this.#paidHere)
      .then(() => {});
    return this.#loaded;
  }

  async rows(batch: TradeBillBatch): Promise<void> {
    await this.#load();
    // The payment rows' 商户订单号, looked up together where they lie in the bill's text: those paid
    // here that day are compared without an object (a row becomes one only when it differs).
    const n = batch.length;
    if (this.#starts.length < n) {
      this.#starts = new Int32Array(n);
      this.#ends = new Int32Array(n);
      this.#values = new Float64Array(n);
      this.#rowOf = new Int32Array(n);
    }
    const rest = this.#pending;
    let payments = 0;
    for (let i = 0; i < n; i++) {
      if (batch.state(i) !== 'SUCCESS') rest.push(batch.row(i));
      else {
        this.#starts[payments] = batch.outTradeNoStart(i);
        this.#ends[payments] = batch.outTradeNoEnd(i);
        this.#rowOf[payments] = i;
        payments += 1;
      }
    }
    this.#paidHere.takeMany(batch.text, this.#starts, this.#ends, payments, this.#values);
    const awaiting = this.#awaited.size > 0;
    for (let k = 0; k < payments; k++) {
      const i = this.#rowOf[k] as number;
      const v = this.#values[k] as number;
      if (Number.isNaN(v)) rest.push(batch.row(i));
      else {
        if (awaiting) this.#seen(batch.outTradeNo(i));
        // Paid here that day: only a different amount is a difference.
        if (amountOf(v) !== batch.orderTotal(i)) this.#payment(batch.row(i), statusOf(v), amountOf(v));
      }
    }
    if (rest.length >= LOOKUP_ROWS) await this.#lookUp();
  }

  /**
   * The rows the books must be asked about (a payment not paid here that day, a refund, a revoked
   * payment), in one lookup for up to LOOKUP_ROWS of them: a bill's differences lie anywhere in it,
   * and a lookup per batch of rows would make the run wait for the database thousands of times.
   */
  async #lookUp(): Promise<void> {
    const rest = this.#pending;
    this.#pending = [];
    if (rest.length === 0) return;
    const refundRows = rest.filter((r) => r.tradeState === 'REFUND');
    const [orders, reversed] = await Promise.all([
      this.#books.orders([...new Set(rest.map((r) => r.outTradeNo))]),
      refundRows.length > 0
        ? this.#books.reversals([...new Set(refundRows.map((r) => r.outTradeNo))])
        : Promise.resolve(new Set<string>()),
    ]);
    for (const row of rest) {
      const order = orders.get(row.outTradeNo);
      const ours = order ? { status: order.status, amount_total: order.amountTotal } : null;
      const keys = { outTradeNo: row.outTradeNo, outRefundNo: row.outRefundNo };
      if (row.tradeState === 'SUCCESS') {
        this.#seen(row.outTradeNo);
        this.#payment(row, order?.status, order?.amountTotal);
      } else if (row.tradeState === 'REFUND') {
        this.#refunds.add(row.outRefundNo);
        this.#seen(row.outRefundNo);
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

  /** A key an earlier bill's held difference waits for is in this bill. */
  #seen(key: string): void {
    if (this.#awaited.has(key)) this.found.add(key);
  }

  #payment(row: TradeBillRow, status: OrderStatus | undefined, amountTotal: number | undefined): void {
    const keys = { outTradeNo: row.outTradeNo };
    if (status === undefined) this.#add(difference('unknown_order', keys, null, theirsOf(row)));
    else if (!PAID_HERE.has(status))
      this.#add(difference('paid_not_settled', keys, { status, amount_total: amountTotal }, theirsOf(row)));
    else if (amountTotal !== row.orderTotal)
      this.#add(difference('amount_mismatch', keys, { status, amount_total: amountTotal }, theirsOf(row)));
  }

  /** The other direction: what the books hold for the day that the bill lacks. */
  async finish(): Promise<Difference[]> {
    await this.#load();
    await this.#lookUp();
    for (const [outTradeNo, v] of this.#paidHere.remaining()) {
      this.#add(
        difference(
          'missing_at_wechat',
          { outTradeNo },
          { status: statusOf(v), amount_total: amountOf(v) },
          null,
        ),
      );
    }
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
