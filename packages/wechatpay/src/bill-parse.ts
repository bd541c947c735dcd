import type { Readable } from 'node:stream';
import {
  BILL_TRADE_STATES,
  type BillTradeState,
  LEGACY_COLUMN_NAMES,
  REQUIRED_COLUMNS,
  TRADE_BILL_ALL_SUMMARY_HEADER,
} from './bill-format.ts';
import { beijingToUtc, feeToMicroYuan, microYuanToFen, parseCount, yuanToFen } from './bill-values.ts';
import { WeChatPayError } from './errors.ts';

/** A bill that must not be diffed: bad hash, bad shape, a summary that does not add up. */
export class BillIntegrityError extends WeChatPayError {
  /** Bounded reason (a metric label). */
  readonly reason: 'hash_mismatch' | 'bad_gzip' | 'bad_format' | 'column_count' | 'summary_mismatch';
  readonly line: number | undefined;

  constructor(reason: BillIntegrityError['reason'], message: string, line?: number) {
    super('BILL_INTEGRITY', line === undefined ? message : `line ${line}: ${message}`);
    this.reason = reason;
    this.line = line;
  }
}

/** One detail row, in paysync's units (fen, UTC). The payer's openid is deliberately not kept. */
export interface TradeBillRow {
  /** 1-based line number in the file. */
  line: number;
  tradeTime: Date;
  mchid: string;
  transactionId: string;
  outTradeNo: string;
  tradeType: string;
  tradeState: BillTradeState;
  /** 应结订单金额, fen (0 on refund rows). */
  settlementTotal: number;
  /** 订单金额, fen (0 on refund rows). */
  orderTotal: number;
  /** 微信退款单号 / 商户退款单号: '' on payment rows (the bill writes `0`). */
  refundId: string;
  outRefundNo: string;
  /** 退款金额, fen. */
  refundAmount: number;
  /** 申请退款金额, fen. */
  requestedRefund: number;
  rechargeCouponRefund: number;
  /** SUCCESS, PROCESSING, … ('' on payment rows). */
  refundStatus: string;
  /** 手续费 in 0.00001 yuan. */
  feeMicroYuan: number;
}

export interface TradeBillTotals {
  rows: number;
  payments: number;
  refunds: number;
  revoked: number;
  settlementTotal: number;
  refundTotal: number;
  rechargeCouponRefundTotal: number;
  /** Fen, rounded from the 5-decimal fees as the summary writes it. */
  feeTotal: number;
  orderTotal: number;
  requestedRefundTotal: number;
}

export interface ParseTradeBillOptions {
  /** Called with each batch of rows, in file order; awaited (backpressure). */
  onRows: (rows: TradeBillRow[]) => Promise<void> | void;
  batchSize?: number;
}

type Part = 'header' | 'detail' | 'summary' | 'done';

const LF = 0x0a;
/** Bytes decoded at once: at most 64 KiB of text, even two-byte (a bill with Chinese descriptions). */
const TEXT_PIECE = 32 * 1024;
const CR = 0x0d;
const BACKTICK = 0x60;
const BOM_CHAR = 0xfeff;

function bare(field: string): string {
  return field.startsWith('`') ? field.slice(1) : field;
}

function headerIndex(names: string[]): Map<string, number> {
  const index = new Map<string, number>();
  names.forEach((raw, i) => {
    const name = raw.trim();
    index.set(LEGACY_COLUMN_NAMES[name] ?? name, i);
  });
  return index;
}

/**
 * Reads a trade bill (`bill_type=ALL`, decompressed bytes) as a stream in constant memory: the detail
 * header (columns found by name, legacy names accepted), the detail rows (split on comma+backtick,
 * column count checked), the summary header and the summary row, which must match the rows' count
 * and column sums. Throws BillIntegrityError for anything else. Rows reach `onRows` before the
 * summary is checked: act on them only after this resolves.
 *
 * Hand-written rather than csv-parse: the format is not CSV (no quoting; a field is a backtick and
 * its text, fields end at comma+backtick), and a million-row bill must cost little more than its
 * gunzip. Each chunk is decoded once (cut after its last LF, which never occurs inside a UTF-8
 * character), lines and fields are found by index in that text, and only the columns read become
 * strings; amounts and times are read digit by digit (anything irregular takes the strict path of
 * bill-values.ts, which names the error).
 */
export async function parseTradeBill(
  input: Readable,
  options: ParseTradeBillOptions,
): Promise<TradeBillTotals> {
  const batchSize = options.batchSize ?? 1000;
  let part: Part = 'header';
  let reader: RowReader | undefined;
  let width = 0;
  let batch: TradeBillRow[] = [];
  const totals: TradeBillTotals = {
    rows: 0,
    payments: 0,
    refunds: 0,
    revoked: 0,
    settlementTotal: 0,
    refundTotal: 0,
    rechargeCouponRefundTotal: 0,
    feeTotal: 0,
    orderTotal: 0,
    requestedRefundTotal: 0,
  };
  let feeMicro = 0;
  let summary: string[] | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  /** Waits for the batch in flight, ignoring its failure (a parse error is what is reported). */
  const settle = () => inFlight.catch(() => {});
  let lineNo = 0;

  /** One non-empty line, text[start, end); returns true when a batch is full. */
  const take = (text: string, start: number, end: number, line: number): boolean => {
    if (part === 'detail' && text.charCodeAt(start) === BACKTICK) {
      const row = (reader as RowReader).read(text, start, end, line, width);
      totals.rows += 1;
      if (row.tradeState === 'SUCCESS') totals.payments += 1;
      else if (row.tradeState === 'REFUND') totals.refunds += 1;
      else totals.revoked += 1;
      totals.settlementTotal += row.settlementTotal;
      totals.refundTotal += row.refundAmount;
      totals.rechargeCouponRefundTotal += row.rechargeCouponRefund;
      totals.orderTotal += row.orderTotal;
      totals.requestedRefundTotal += row.requestedRefund;
      feeMicro += row.feeMicroYuan;
      batch.push(row);
      return batch.length >= batchSize;
    }
    // Fields are not quoted: a data row splits on comma+backtick (the column count is checked).
    const record = text.slice(start, end).split(',`');
    const first = record[0] ?? '';
    if (part === 'header') {
      if (record.length !== 1 || first.startsWith('`'))
        throw new BillIntegrityError('bad_format', 'the first line is not the detail header', line);
      const names = first.split(',');
      const index = headerIndex(names);
      width = names.length;
      const missing = REQUIRED_COLUMNS.filter((c) => !index.has(c));
      if (missing.length > 0)
        throw new BillIntegrityError('bad_format', `the header lacks ${missing.join(', ')}`, line);
      reader = new RowReader(columnsOf(index), width);
      part = 'detail';
      return false;
    }
    if (part === 'detail' && record.length === 1) {
      const names = first.split(',').map((n) => n.trim());
      if (names.join(',') !== TRADE_BILL_ALL_SUMMARY_HEADER.join(','))
        throw new BillIntegrityError('bad_format', 'unexpected summary header', line);
      part = 'summary';
      return false;
    }
    if (part === 'detail') {
      if (record.length !== width)
        throw new BillIntegrityError(
          'column_count',
          `${record.length} columns where the header has ${width}`,
          line,
        );
      throw new BillIntegrityError('bad_format', 'a detail field does not start with a backtick', line);
    }
    if (part === 'summary') {
      if (record.length !== TRADE_BILL_ALL_SUMMARY_HEADER.length)
        throw new BillIntegrityError('column_count', 'the summary row has the wrong column count', line);
      summary = record.map(bare);
      part = 'done';
      return false;
    }
    throw new BillIntegrityError('bad_format', 'content after the summary row', line);
  };

  const flush = async () => {
    // One batch in flight while the next is read: the caller's lookups overlap the parsing.
    await inFlight;
    inFlight = Promise.resolve(options.onRows(batch));
    inFlight.catch(() => {}); // handled: it is awaited before the next batch or the end
    batch = [];
  };

  /** The lines of text (whole lines, each ending in LF unless `last`), CRLF or LF, the BOM dropped. */
  const lines = async (text: string, last: boolean) => {
    let start = 0;
    while (start < text.length) {
      let at = text.indexOf('\n', start);
      if (at === -1) {
        if (!last) return;
        at = text.length;
      }
      lineNo += 1;
      let from = start;
      let end = at;
      if (end > from && text.charCodeAt(end - 1) === CR) end -= 1;
      if (lineNo === 1 && text.charCodeAt(from) === BOM_CHAR) from += 1;
      start = at + 1;
      if (end > from && take(text, from, end, lineNo)) await flush();
    }
  };

  try {
    let rest: Buffer = Buffer.alloc(0);
    for await (const chunk of input) {
      const buf: Buffer = rest.length > 0 ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
      // Decoded in pieces that end at an LF (a UTF-8 character never spans one), each small enough
      // for V8's young generation: a larger string is born in the old one, and the rows' fields,
      // slices of it, would keep every piece there until a full collection.
      let from = 0;
      for (;;) {
        let cut = buf.lastIndexOf(LF, from + TEXT_PIECE - 1) + 1;
        if (cut <= from) cut = buf.lastIndexOf(LF) + 1;
        if (cut <= from) break;
        await lines(buf.toString('utf8', from, cut), false);
        from = cut;
      }
      rest = buf.subarray(from);
    }
    if (rest.length > 0) await lines(rest.toString('utf8'), true);
  } catch (err) {
    await settle();
    if (err instanceof WeChatPayError) throw err;
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('Z_') || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_INVALID_STATE')
      throw new BillIntegrityError('bad_gzip', 'the file is not complete gzip');
    throw new BillIntegrityError('bad_format', `unreadable bill: ${(err as Error).message}`);
  }
  await inFlight;
  if (batch.length > 0) await options.onRows(batch);
  if (!summary) throw new BillIntegrityError('bad_format', 'the bill ends without its summary row');
  totals.feeTotal = microYuanToFen(feeMicro);
  checkSummary(summary, totals);
  return totals;
}

const POW10 = [1, 10, 100, 1000, 10_000, 100_000];

/**
 * A decimal amount in text[s, e) (a leading backtick skipped) as integer units of 10^-decimals, read
 * digit by digit; NaN when it is anything but `-?digits(.digits)?` within `decimals` and range.
 */
function decimalAt(text: string, s: number, e: number, decimals: number): number {
  let i = s;
  const negative = text.charCodeAt(i) === 0x2d;
  if (negative) i += 1;
  let value = 0;
  const digitsFrom = i;
  let c = 0;
  for (; i < e; i++) {
    c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    value = value * 10 + c;
  }
  if (i === digitsFrom) return Number.NaN;
  let fraction = 0;
  if (i < e) {
    if (text.charCodeAt(i) !== 0x2e) return Number.NaN;
    for (i += 1; i < e; i++) {
      c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return Number.NaN;
      value = value * 10 + c;
      fraction += 1;
    }
    if (fraction === 0 || fraction > decimals) return Number.NaN;
  }
  value *= POW10[decimals - fraction] as number;
  if (!Number.isSafeInteger(value)) return Number.NaN;
  return negative && value !== 0 ? -value : value;
}

/** Two digits at text[i]; -1 if they are not. */
function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Reads detail rows found by index in a decoded text: where each field starts, the column count,
 * and only the columns the reconciliation uses. Keeps the Beijing day last seen (a bill's rows are
 * of one or two days) so a time costs a few digit reads.
 */
class RowReader {
  readonly #columns: Columns;
  /** Start of each field (after its comma) and, one past the last, the line end + 1. */
  readonly #starts: Int32Array;
  #dayText = '';
  #dayMs = 0;
  #text = '';
  #line = 0;
  readonly #last = ['', '', ''];

  constructor(columns: Columns, width: number) {
    this.#columns = columns;
    this.#starts = new Int32Array(width + 1);
  }

  read(text: string, start: number, end: number, line: number, width: number): TradeBillRow {
    const starts = this.#starts;
    starts[0] = start;
    let n = 1;
    for (let at = text.indexOf(',`', start); at !== -1 && at < end; at = text.indexOf(',`', at + 2)) {
      if (n < width) starts[n] = at + 1;
      n += 1;
    }
    if (n !== width)
      throw new BillIntegrityError('column_count', `${n} columns where the header has ${width}`, line);
    starts[width] = end + 1;
    this.#text = text;
    this.#line = line;
    const c = this.#columns;
    const fee = decimalAt(text, this.#from(c.手续费), this.#to(c.手续费), 5);
    return {
      line,
      tradeTime: this.#time(text, this.#from(c.交易时间), this.#to(c.交易时间), line),
      mchid: this.#repeated(0, c.商户号),
      transactionId: this.#get(c.微信订单号),
      outTradeNo: this.#get(c.商户订单号),
      tradeType: this.#repeated(1, c.交易类型),
      tradeState: this.#state(text, this.#from(c.交易状态), this.#to(c.交易状态), line),
      settlementTotal: this.#money('应结订单金额'),
      orderTotal: this.#money('订单金额'),
      refundId: this.#refundNo(c.微信退款单号),
      outRefundNo: this.#refundNo(c.商户退款单号),
      refundAmount: this.#money('退款金额'),
      requestedRefund: this.#money('申请退款金额'),
      rechargeCouponRefund: this.#money('充值券退款金额'),
      refundStatus: this.#repeated(2, c.退款状态),
      feeMicroYuan: Number.isNaN(fee)
        ? strict(() => feeToMicroYuan(this.#get(c.手续费), '手续费'), line)
        : fee,
    };
  }

  // Field i of the row being read is text[from(i), to(i)): its backtick and the next comma left out.
  #from(i: number): number {
    const at = this.#starts[i] as number;
    return at + (this.#text.charCodeAt(at) === BACKTICK ? 1 : 0);
  }

  #to(i: number): number {
    return (this.#starts[i + 1] as number) - 1;
  }

  #get(i: number): string {
    return this.#text.slice(this.#from(i), this.#to(i));
  }

  /** A column whose value repeats row after row (merchant, trade type, refund status): one string. */
  #repeated(slot: number, i: number): string {
    const from = this.#from(i);
    const last = this.#last[slot] as string;
    if (this.#to(i) - from === last.length && this.#text.startsWith(last, from)) return last;
    const value = this.#get(i);
    this.#last[slot] = value;
    return value;
  }

  #money(name: keyof Columns): number {
    const i = this.#columns[name];
    const v = decimalAt(this.#text, this.#from(i), this.#to(i), 2);
    return Number.isNaN(v) ? strict(() => yuanToFen(this.#get(i), name), this.#line) : v;
  }

  /** The bill writes `0` for no refund: ''. */
  #refundNo(i: number): string {
    const from = this.#from(i);
    return this.#to(i) - from === 1 && this.#text.charCodeAt(from) === 48 ? '' : this.#get(i);
  }

  #state(text: string, s: number, e: number, line: number): BillTradeState {
    for (const state of BILL_TRADE_STATES)
      if (e - s === state.length && text.startsWith(state, s)) return state;
    throw new BillIntegrityError(
      'bad_format',
      `unknown 交易状态 ${JSON.stringify(text.slice(s, Math.min(e, s + 16)))}`,
      line,
    );
  }

  /** `YYYY-MM-DD HH:MM:SS`, Beijing → UTC; the day part validated once per distinct day. */
  #time(text: string, s: number, e: number, line: number): Date {
    const h = twoDigits(text, s + 11);
    const mi = twoDigits(text, s + 14);
    const sec = twoDigits(text, s + 17);
    if (
      e - s === 19 &&
      text.charCodeAt(s + 10) === 0x20 &&
      text.charCodeAt(s + 13) === 0x3a &&
      text.charCodeAt(s + 16) === 0x3a &&
      h >= 0 &&
      h <= 23 &&
      mi >= 0 &&
      mi <= 59 &&
      sec >= 0 &&
      sec <= 59
    ) {
      const ms = ((h * 60 + mi) * 60 + sec) * 1000;
      if (this.#dayText.length === 10 && text.startsWith(this.#dayText, s)) return new Date(this.#dayMs + ms);
      const at = strict(() => beijingToUtc(text.slice(s, e), '交易时间'), line);
      this.#dayText = text.slice(s, s + 10);
      this.#dayMs = at.getTime() - ms;
      return at;
    }
    return strict(() => beijingToUtc(text.slice(s, e), '交易时间'), line);
  }
}

/** The strict reading of a value (bill-values.ts), its error as the line's bad_format. */
function strict<T>(read: () => T, line: number): T {
  try {
    return read();
  } catch (err) {
    throw new BillIntegrityError('bad_format', (err as Error).message, line);
  }
}

/** Where each column the reconciliation reads is, found once per file from the header. */
type Columns = Readonly<Record<(typeof REQUIRED_COLUMNS)[number], number>>;

function columnsOf(index: Map<string, number>): Columns {
  return Object.fromEntries(REQUIRED_COLUMNS.map((c) => [c, index.get(c) as number])) as Columns;
}

function checkSummary(fields: string[], totals: TradeBillTotals): void {
  const [count, settlement, refund, coupon, fee, order, requested] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const parsed = (() => {
    try {
      return {
        count: parseCount(count, '总交易单数'),
        settlement: yuanToFen(settlement, '应结订单总金额'),
        refund: yuanToFen(refund, '退款总金额'),
        coupon: yuanToFen(coupon, '充值券退款总金额'),
        fee: yuanToFen(fee, '手续费总金额'),
        order: yuanToFen(order, '订单总金额'),
        requested: yuanToFen(requested, '申请退款总金额'),
      };
    } catch (err) {
      throw new BillIntegrityError('bad_format', `summary: ${(err as Error).message}`);
    }
  })();
  const checks: [string, number, number][] = [
    ['总交易单数', parsed.count, totals.rows],
    ['应结订单总金额', parsed.settlement, totals.settlementTotal],
    ['退款总金额', parsed.refund, totals.refundTotal],
    ['充值券退款总金额', parsed.coupon, totals.rechargeCouponRefundTotal],
    ['手续费总金额', parsed.fee, totals.feeTotal],
    ['订单总金额', parsed.order, totals.orderTotal],
    ['申请退款总金额', parsed.requested, totals.requestedRefundTotal],
  ];
  const wrong = checks.filter(([, summary, sum]) => summary !== sum);
  if (wrong.length > 0)
    throw new BillIntegrityError(
      'summary_mismatch',
      `the summary does not match the rows: ${wrong.map(([n, s, r]) => `${n} says ${s}, rows sum to ${r}`).join('; ')}`,
    );
}
