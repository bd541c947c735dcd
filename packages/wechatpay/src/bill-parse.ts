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
  /**
   * Called with each batch of rows, in file order; awaited (backpressure). The batch is reused once
   * that promise settles: read what you need from it (or iterate it into rows) before.
   */
  onRows: (rows: TradeBillBatch) => Promise<void> | void;
}

/**
 * The detail rows of one piece of a bill, as read: each row's state, 订单金额 and where its 商户订单号
 * is in the piece's text (compared there, without making a string), and the whole row on demand —
 * a million-row bill's rows, most of them matched at a glance, never become a million objects.
 * Every row was checked in full (column count, every value the run reads) before it got here.
 */
export class TradeBillBatch implements Iterable<TradeBillRow> {
  #text = '';
  #reader: RowReader | undefined;
  #length = 0;
  /** Per row: line start, line end, line number, 商户订单号 start and end (STRIDE ints). */
  #at = new Int32Array(256 * STRIDE);
  #states = new Uint8Array(256);
  #orderTotals = new Float64Array(256);

  /** The decoded text the rows are in. */
  get text(): string {
    return this.#text;
  }

  get length(): number {
    return this.#length;
  }

  /** Row i's 交易状态. */
  state(i: number): BillTradeState {
    return BILL_TRADE_STATES[this.#states[i] as number] as BillTradeState;
  }

  /** Row i's 订单金额, fen. */
  orderTotal(i: number): number {
    return this.#orderTotals[i] as number;
  }

  /** Row i's 商户订单号 is text[outTradeNoStart(i), outTradeNoEnd(i)). */
  outTradeNoStart(i: number): number {
    return this.#at[i * STRIDE + 3] as number;
  }

  outTradeNoEnd(i: number): number {
    return this.#at[i * STRIDE + 4] as number;
  }

  outTradeNo(i: number): string {
    return this.#text.slice(this.outTradeNoStart(i), this.outTradeNoEnd(i));
  }

  /** Row i in full. */
  row(i: number): TradeBillRow {
    const at = i * STRIDE;
    const a = this.#at;
    return (this.#reader as RowReader).read(
      this.#text,
      a[at] as number,
      a[at + 1] as number,
      a[at + 2] as number,
    );
  }

  *[Symbol.iterator](): Iterator<TradeBillRow> {
    for (let i = 0; i < this.#length; i++) yield this.row(i);
  }

  /** @internal Starts the batch of a new piece. */
  reset(text: string, reader: RowReader): void {
    this.#text = text;
    this.#reader = reader;
    this.#length = 0;
  }

  /** @internal A row RowReader.scan checked. */
  push(
    start: number,
    end: number,
    line: number,
    outTradeNoStart: number,
    outTradeNoEnd: number,
    state: number,
    orderTotal: number,
  ): void {
    const i = this.#length;
    if (i === this.#states.length) this.#grow();
    const at = i * STRIDE;
    const a = this.#at;
    a[at] = start;
    a[at + 1] = end;
    a[at + 2] = line;
    a[at + 3] = outTradeNoStart;
    a[at + 4] = outTradeNoEnd;
    this.#states[i] = state;
    this.#orderTotals[i] = orderTotal;
    this.#length = i + 1;
  }

  #grow(): void {
    const n = this.#states.length * 2;
    const at = new Int32Array(n * STRIDE);
    at.set(this.#at);
    this.#at = at;
    const states = new Uint8Array(n);
    states.set(this.#states);
    this.#states = states;
    const totals = new Float64Array(n);
    totals.set(this.#orderTotals);
    this.#orderTotals = totals;
  }
}

const STRIDE = 5;

type Part = 'header' | 'detail' | 'summary' | 'done';

const LF = 0x0a;
/** Bytes decoded at once: at most 64 KiB of text, even two-byte (a bill with Chinese descriptions). */
const TEXT_PIECE = 32 * 1024;
const CR = 0x0d;
const BACKTICK = 0x60;
const COMMA = 0x2c;
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
 * Reads a trade bill (`bill_type=ALL`; its decompressed bytes, as billChunks gives them) in constant
 * memory: the detail header (columns found by name, legacy names accepted), the detail rows (split
 * on comma+backtick, column count checked), the summary header and the summary row, which must match
 * the rows' count and column sums. Throws BillIntegrityError for anything else. Rows reach `onRows`
 * before the summary is checked: act on them only after this resolves.
 *
 * Hand-written rather than csv-parse: the format is not CSV (no quoting; a field is a backtick and
 * its text, fields end at comma+backtick), and a million-row bill must cost little more than its
 * gunzip. Each chunk is decoded once, in pieces cut after an LF (which never occurs inside a UTF-8
 * character); lines and fields are found by index in that text and every row is checked in place,
 * its amounts and time read digit by digit (anything irregular takes the strict path of
 * bill-values.ts, which names the error). A row becomes an object only when the caller asks.
 */
export async function parseTradeBill(
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ParseTradeBillOptions,
): Promise<TradeBillTotals> {
  let part: Part = 'header';
  let reader: RowReader | undefined;
  let width = 0;
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
  let summary: string[] | undefined;
  // Two batches in turn: one with the caller while the next piece is read into the other.
  const batches: readonly [TradeBillBatch, TradeBillBatch] = [new TradeBillBatch(), new TradeBillBatch()];
  let turn: 0 | 1 = 0;
  let batch = batches[turn];
  let inFlight: Promise<void> = Promise.resolve();
  /** Waits for the batch in flight, ignoring its failure (a parse error is what is reported). */
  const settle = () => inFlight.catch(() => {});
  let lineNo = 0;

  /** One non-empty line, text[start, end). */
  const take = (text: string, start: number, end: number, line: number): void => {
    if (part === 'detail' && text.charCodeAt(start) === BACKTICK) {
      (reader as RowReader).scan(text, start, end, line, batch);
      return;
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
      reader = new RowReader(columnsOf(index), width, totals);
      batch.reset(text, reader);
      part = 'detail';
      return;
    }
    if (part === 'detail' && record.length === 1) {
      const names = first.split(',').map((n) => n.trim());
      if (names.join(',') !== TRADE_BILL_ALL_SUMMARY_HEADER.join(','))
        throw new BillIntegrityError('bad_format', 'unexpected summary header', line);
      part = 'summary';
      return;
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
      return;
    }
    throw new BillIntegrityError('bad_format', 'content after the summary row', line);
  };

  /** Hands the piece's rows over (after the batch before them is done) and turns to the other batch. */
  const flush = async () => {
    if (batch.length === 0) return;
    await inFlight;
    inFlight = Promise.resolve(options.onRows(batch));
    inFlight.catch(() => {}); // handled: it is awaited before the next batch or the end
    turn = turn === 0 ? 1 : 0;
    batch = batches[turn];
  };

  /** The lines of text (whole lines, each ending in LF unless `last`), CRLF or LF, the BOM dropped. */
  const lines = (text: string, last: boolean): void => {
    if (reader) batch.reset(text, reader);
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
      if (end > from) take(text, from, end, lineNo);
    }
  };

  try {
    let rest: Buffer = Buffer.alloc(0);
    for await (const chunk of input) {
      let buf = Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (rest.length > 0) {
        // The line the last chunk cut, completed from this one: that line is copied, not the chunk.
        const lf = buf.indexOf(LF);
        if (lf === -1) {
          rest = Buffer.concat([rest, buf]);
          continue;
        }
        lines(Buffer.concat([rest, buf.subarray(0, lf + 1)]).toString('utf8'), false);
        await flush();
        buf = buf.subarray(lf + 1);
      }
      // Decoded in pieces that end at an LF (a UTF-8 character never spans one), each small enough
      // for V8's young generation: a larger string is born in the old one, and whatever keeps a
      // slice of it would keep every piece there until a full collection.
      let from = 0;
      for (;;) {
        let cut = buf.lastIndexOf(LF, from + TEXT_PIECE - 1) + 1;
        if (cut <= from) cut = buf.lastIndexOf(LF) + 1;
        if (cut <= from) break;
        lines(buf.toString('utf8', from, cut), false);
        await flush();
        from = cut;
      }
      // A copy (less than a line): the chunk is the reader's only until it asks for the next.
      rest = Buffer.from(buf.subarray(from));
    }
    if (rest.length > 0) {
      lines(rest.toString('utf8'), true);
      await flush();
    }
  } catch (err) {
    await settle();
    if (err instanceof WeChatPayError) throw err;
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('Z_') || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_INVALID_STATE')
      throw new BillIntegrityError('bad_gzip', 'the file is not complete gzip');
    throw new BillIntegrityError('bad_format', `unreadable bill: ${(err as Error).message}`);
  }
  await inFlight;
  if (!summary) throw new BillIntegrityError('bad_format', 'the bill ends without its summary row');
  totals.feeTotal = microYuanToFen((reader as RowReader | undefined)?.feeMicroYuan ?? 0);
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
  if (value > Number.MAX_SAFE_INTEGER) return Number.NaN;
  return negative && value !== 0 ? -value : value;
}

/** Whether text[at, at + word.length) is word (a loop: quicker than startsWith for a few characters). */
function sameAt(text: string, at: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) if (text.charCodeAt(at + i) !== word.charCodeAt(i)) return false;
  return true;
}

/** Two digits at text[i]; -1 if they are not. */
function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Reads detail rows found by index in a decoded text: where each field starts, the column count,
 * and only the columns the reconciliation uses. scan() checks a row in full and adds it to the
 * totals without making an object; read() makes the row (only for the rows a caller asks for).
 * Keeps the Beijing day last seen (a bill's rows are of one or two days) so a time costs a few digit
 * reads.
 */
class RowReader {
  readonly #columns: Columns;
  readonly #width: number;
  readonly #totals: TradeBillTotals;
  /** The fees' sum in 0.00001 yuan (the summary's total is rounded from it). */
  feeMicroYuan = 0;
  /** Start of each field (after its comma) and, one past the last, the line end + 1. */
  readonly #starts: Int32Array;
  #dayText = '';
  #dayMs = 0;
  #text = '';
  #line = 0;
  readonly #last = ['', '', ''];

  // The amount columns, read on every row.
  readonly #orderTotal: number;
  readonly #settlementTotal: number;
  readonly #refundAmount: number;
  readonly #requestedRefund: number;
  readonly #couponRefund: number;

  constructor(columns: Columns, width: number, totals: TradeBillTotals) {
    this.#columns = columns;
    this.#orderTotal = columns.订单金额;
    this.#settlementTotal = columns.应结订单金额;
    this.#refundAmount = columns.退款金额;
    this.#requestedRefund = columns.申请退款金额;
    this.#couponRefund = columns.充值券退款金额;
    this.#width = width;
    this.#totals = totals;
    this.#starts = new Int32Array(width + 1);
  }

  /** Checks the row text[start, end) — every column the run reads — adds it to the totals and to the batch. */
  scan(text: string, start: number, end: number, line: number, batch: TradeBillBatch): void {
    this.#split(text, start, end, line);
    const c = this.#columns;
    this.#timeMs(text, this.#from(c.交易时间), this.#to(c.交易时间), line);
    const state = this.#state(text, this.#from(c.交易状态), this.#to(c.交易状态), line);
    const t = this.#totals;
    t.rows += 1;
    if (state === SUCCESS) t.payments += 1;
    else if (state === REFUND) t.refunds += 1;
    else t.revoked += 1;
    const orderTotal = this.#money(this.#orderTotal, '订单金额');
    t.orderTotal += orderTotal;
    t.settlementTotal += this.#money(this.#settlementTotal, '应结订单金额');
    t.refundTotal += this.#money(this.#refundAmount, '退款金额');
    t.requestedRefundTotal += this.#money(this.#requestedRefund, '申请退款金额');
    t.rechargeCouponRefundTotal += this.#money(this.#couponRefund, '充值券退款金额');
    this.feeMicroYuan += this.#fee();
    batch.push(start, end, line, this.#from(c.商户订单号), this.#to(c.商户订单号), state, orderTotal);
  }

  /** The row text[start, end), which scan() checked. */
  read(text: string, start: number, end: number, line: number): TradeBillRow {
    this.#split(text, start, end, line);
    const c = this.#columns;
    return {
      line,
      tradeTime: new Date(this.#timeMs(text, this.#from(c.交易时间), this.#to(c.交易时间), line)),
      mchid: this.#repeated(0, c.商户号),
      transactionId: this.#get(c.微信订单号),
      outTradeNo: this.#get(c.商户订单号),
      tradeType: this.#repeated(1, c.交易类型),
      tradeState: BILL_TRADE_STATES[
        this.#state(text, this.#from(c.交易状态), this.#to(c.交易状态), line)
      ] as BillTradeState,
      settlementTotal: this.#money(this.#settlementTotal, '应结订单金额'),
      orderTotal: this.#money(this.#orderTotal, '订单金额'),
      refundId: this.#refundNo(c.微信退款单号),
      outRefundNo: this.#refundNo(c.商户退款单号),
      refundAmount: this.#money(this.#refundAmount, '退款金额'),
      requestedRefund: this.#money(this.#requestedRefund, '申请退款金额'),
      rechargeCouponRefund: this.#money(this.#couponRefund, '充值券退款金额'),
      refundStatus: this.#repeated(2, c.退款状态),
      feeMicroYuan: this.#fee(),
    };
  }

  /** Finds where each field of the row starts; the column count must be the header's. */
  #split(text: string, start: number, end: number, line: number): void {
    const starts = this.#starts;
    const width = this.#width;
    starts[0] = start;
    let n = 1;
    // Each comma+backtick: a search for the backtick alone is the quicker one.
    for (let at = text.indexOf('`', start + 1); at !== -1 && at < end; at = text.indexOf('`', at + 1)) {
      if (text.charCodeAt(at - 1) !== COMMA) continue;
      if (n < width) starts[n] = at;
      n += 1;
    }
    if (n !== width)
      throw new BillIntegrityError('column_count', `${n} columns where the header has ${width}`, line);
    starts[width] = end + 1;
    this.#text = text;
    this.#line = line;
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

  /** The amount in column i (named `name` in errors), fen. */
  #money(i: number, name: string): number {
    const v = decimalAt(this.#text, this.#from(i), this.#to(i), 2);
    return Number.isNaN(v) ? strict(() => yuanToFen(this.#get(i), name), this.#line) : v;
  }

  #fee(): number {
    const i = this.#columns.手续费;
    const v = decimalAt(this.#text, this.#from(i), this.#to(i), 5);
    return Number.isNaN(v) ? strict(() => feeToMicroYuan(this.#get(i), '手续费'), this.#line) : v;
  }

  /** The bill writes `0` for no refund: ''. */
  #refundNo(i: number): string {
    const from = this.#from(i);
    return this.#to(i) - from === 1 && this.#text.charCodeAt(from) === 48 ? '' : this.#get(i);
  }

  /** The index of the 交易状态 in BILL_TRADE_STATES. */
  #state(text: string, s: number, e: number, line: number): number {
    for (let k = 0; k < BILL_TRADE_STATES.length; k++) {
      const state = BILL_TRADE_STATES[k] as BillTradeState;
      if (e - s === state.length && sameAt(text, s, state)) return k;
    }
    throw new BillIntegrityError(
      'bad_format',
      `unknown 交易状态 ${JSON.stringify(text.slice(s, Math.min(e, s + 16)))}`,
      line,
    );
  }

  /** `YYYY-MM-DD HH:MM:SS`, Beijing → UTC epoch ms; the day part validated once per distinct day. */
  #timeMs(text: string, s: number, e: number, line: number): number {
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
      if (this.#dayText.length === 10 && sameAt(text, s, this.#dayText)) return this.#dayMs + ms;
      const at = strict(() => beijingToUtc(text.slice(s, e), '交易时间'), line).getTime();
      this.#dayText = text.slice(s, s + 10);
      this.#dayMs = at - ms;
      return at;
    }
    return strict(() => beijingToUtc(text.slice(s, e), '交易时间'), line).getTime();
  }
}

const SUCCESS = BILL_TRADE_STATES.indexOf('SUCCESS');
const REFUND = BILL_TRADE_STATES.indexOf('REFUND');

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
