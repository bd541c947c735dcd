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
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * The non-empty lines of a byte stream, CRLF or LF, the BOM dropped, with 1-based line numbers.
 * Split on the LF byte before decoding: it never occurs inside a multi-byte UTF-8 character.
 */
async function* lines(input: Readable): AsyncGenerator<{ line: number; text: string }> {
  let rest: Buffer = Buffer.alloc(0);
  let line = 0;
  const text = (buf: Buffer, start: number, end: number) => {
    let stop = end;
    if (stop > start && buf[stop - 1] === CR) stop -= 1;
    if (line === 1 && buf.subarray(start, start + 3).equals(BOM))
      return buf.toString('utf8', start + 3, stop);
    return buf.toString('utf8', start, stop);
  };
  for await (const chunk of input) {
    const buf: Buffer = rest.length > 0 ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let at = buf.indexOf(LF); at !== -1; at = buf.indexOf(LF, start)) {
      line += 1;
      const t = text(buf, start, at);
      if (t.length > 0) yield { line, text: t };
      start = at + 1;
    }
    rest = buf.subarray(start);
  }
  if (rest.length > 0) {
    line += 1;
    const t = text(rest, 0, rest.length);
    if (t.length > 0) yield { line, text: t };
  }
}

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
 */
export async function parseTradeBill(
  input: Readable,
  options: ParseTradeBillOptions,
): Promise<TradeBillTotals> {
  const batchSize = options.batchSize ?? 1000;
  let part: Part = 'header';
  let columns: Columns | undefined;
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

  try {
    for await (const { line, text } of lines(input)) {
      // Fields are not quoted: a data row splits on comma+backtick (the column count is checked).
      const record = text.split(',`');
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
        columns = columnsOf(index);
        part = 'detail';
        continue;
      }
      if (part === 'detail' && record.length === 1 && !first.startsWith('`')) {
        const names = first.split(',').map((n) => n.trim());
        if (names.join(',') !== TRADE_BILL_ALL_SUMMARY_HEADER.join(','))
          throw new BillIntegrityError('bad_format', 'unexpected summary header', line);
        part = 'summary';
        continue;
      }
      if (part === 'detail') {
        if (record.length !== width)
          throw new BillIntegrityError(
            'column_count',
            `${record.length} columns where the header has ${width}`,
            line,
          );
        if (!first.startsWith('`'))
          throw new BillIntegrityError('bad_format', 'a detail field does not start with a backtick', line);
        const row = toRow(record, columns as Columns, line);
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
        if (batch.length >= batchSize) {
          // One batch in flight while the next is read: the caller's lookups overlap the parsing.
          await inFlight;
          inFlight = Promise.resolve(options.onRows(batch));
          inFlight.catch(() => {}); // handled: it is awaited before the next batch or the end
          batch = [];
        }
        continue;
      }
      if (part === 'summary') {
        if (record.length !== TRADE_BILL_ALL_SUMMARY_HEADER.length)
          throw new BillIntegrityError('column_count', 'the summary row has the wrong column count', line);
        summary = record.map(bare);
        part = 'done';
        continue;
      }
      throw new BillIntegrityError('bad_format', 'content after the summary row', line);
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
  if (batch.length > 0) await options.onRows(batch);
  if (!summary) throw new BillIntegrityError('bad_format', 'the bill ends without its summary row');
  totals.feeTotal = microYuanToFen(feeMicro);
  checkSummary(summary, totals);
  return totals;
}

/** Where each column the reconciliation reads is, found once per file from the header. */
type Columns = Readonly<Record<(typeof REQUIRED_COLUMNS)[number], number>>;

function columnsOf(index: Map<string, number>): Columns {
  return Object.fromEntries(REQUIRED_COLUMNS.map((c) => [c, index.get(c) as number])) as Columns;
}

function toRow(record: string[], columns: Columns, line: number): TradeBillRow {
  const get = (name: keyof Columns): string => bare(record[columns[name]] ?? '');
  const money = (name: keyof Columns) => {
    try {
      return yuanToFen(get(name), name);
    } catch (err) {
      throw new BillIntegrityError('bad_format', (err as Error).message, line);
    }
  };
  const state = get('交易状态');
  if (!BILL_TRADE_STATES.includes(state as BillTradeState))
    throw new BillIntegrityError(
      'bad_format',
      `unknown 交易状态 ${JSON.stringify(state.slice(0, 16))}`,
      line,
    );
  const refundNo = (name: keyof Columns) => {
    const v = get(name);
    return v === '0' ? '' : v;
  };
  let tradeTime: Date;
  let feeMicroYuan: number;
  try {
    tradeTime = beijingToUtc(get('交易时间'), '交易时间');
    feeMicroYuan = feeToMicroYuan(get('手续费'), '手续费');
  } catch (err) {
    throw new BillIntegrityError('bad_format', (err as Error).message, line);
  }
  return {
    line,
    tradeTime,
    mchid: get('商户号'),
    transactionId: get('微信订单号'),
    outTradeNo: get('商户订单号'),
    tradeType: get('交易类型'),
    tradeState: state as BillTradeState,
    settlementTotal: money('应结订单金额'),
    orderTotal: money('订单金额'),
    refundId: refundNo('微信退款单号'),
    outRefundNo: refundNo('商户退款单号'),
    refundAmount: money('退款金额'),
    requestedRefund: money('申请退款金额'),
    rechargeCouponRefund: money('充值券退款金额'),
    refundStatus: get('退款状态'),
    feeMicroYuan,
  };
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
