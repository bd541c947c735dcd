import { readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  BillIntegrityError,
  beijingDayRange,
  beijingToUtc,
  billChunks,
  billContent,
  billDigest,
  feeToMicroYuan,
  fenToYuan,
  parseTradeBill,
  type TradeBillRow,
  yuanToFen,
} from '../../src/index.ts';

const SAMPLE = readFileSync(new URL('../fixtures/tradebill-ALL-sample.csv', import.meta.url));
const SAMPLE_SHA1 = '9bb6cd819be348f17a9cbcedddc8eb62fefbd790';

async function parseAll(bytes: Buffer) {
  const rows: TradeBillRow[] = [];
  const totals = await parseTradeBill(billChunks(bytes), {
    onRows: (batch) => {
      rows.push(...batch);
    },
  });
  return { rows, totals };
}

function edit(text: (s: string) => string): Buffer {
  return Buffer.from(text(SAMPLE.toString('utf8')), 'utf8');
}

async function integrityReason(bytes: Buffer): Promise<string> {
  const err = await parseAll(bytes).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BillIntegrityError);
  return (err as BillIntegrityError).reason;
}

describe('trade bill values', () => {
  it('converts yuan to fen by string arithmetic', () => {
    expect(yuanToFen('0.01')).toBe(1);
    expect(yuanToFen('0.1')).toBe(10);
    expect(yuanToFen('1')).toBe(100);
    expect(yuanToFen('19.99')).toBe(1999);
    expect(yuanToFen('-0.03')).toBe(-3);
    expect(feeToMicroYuan('0.01000')).toBe(1000);
    expect(() => yuanToFen('0.001')).toThrow(/decimals/);
    expect(() => yuanToFen('1e3')).toThrow(/not an amount/);
    expect(() => yuanToFen('')).toThrow(/not an amount/);
  });

  it('round-trips every fen amount through the bill text', () => {
    fc.assert(fc.property(fc.integer({ min: -1e12, max: 1e12 }), (fen) => yuanToFen(fenToYuan(fen)) === fen));
  });

  it('reads Beijing local time as UTC and cuts the day at 00:00 Beijing', () => {
    expect(beijingToUtc('2019-02-19 05:01:46').toISOString()).toBe('2019-02-18T21:01:46.000Z');
    expect(() => beijingToUtc('2019-02-30 00:00:00')).toThrow(/no such time/);
    const day = beijingDayRange('2026-05-01');
    expect(day.start.toISOString()).toBe('2026-04-30T16:00:00.000Z');
    expect(day.end.toISOString()).toBe('2026-05-01T16:00:00.000Z');
  });
});

describe('billChunks', () => {
  // Text that compresses poorly enough to take several of gunzip's 256 KiB buffers.
  const text = Buffer.from(
    Array.from({ length: 40_000 }, (_, i) => `${i},${(i * 2_654_435_761) % 4_294_967_296}`).join('\r\n'),
  );

  it('yields the bytes billContent does, and releases each of gunzip’s full buffers once the reader moves on', async () => {
    const chunks: Buffer[] = [];
    const copies: Buffer[] = [];
    for await (const chunk of billChunks(gzipSync(text))) {
      chunks.push(chunk);
      copies.push(Buffer.from(chunk));
    }
    expect(Buffer.concat(copies).equals(text)).toBe(true);
    const streamed: Buffer[] = [];
    for await (const chunk of billContent(gzipSync(text))) streamed.push(chunk as Buffer);
    expect(Buffer.concat(streamed).equals(text)).toBe(true);
    expect(chunks.length).toBeGreaterThan(2);
    // Released: a view of a released buffer has no bytes left (only the last, partial one keeps them).
    expect(chunks.map((c) => c.length)).toEqual([...chunks.slice(0, -1).map(() => 0), copies.at(-1)?.length]);
  });

  it('never releases a body that is not gzip: its chunks are views of it', async () => {
    const body = Buffer.from(text);
    const copies: Buffer[] = [];
    for await (const chunk of billChunks(body)) copies.push(Buffer.from(chunk));
    expect(Buffer.concat(copies).equals(text)).toBe(true);
    expect(body.equals(text)).toBe(true);
  });
});

describe('parseTradeBill on the real-format sample', () => {
  it('hashes the decompressed bytes, BOM and CRLF included, plain or gzip', async () => {
    expect(SAMPLE.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect((await billDigest(SAMPLE)).sha1).toBe(SAMPLE_SHA1);
    expect(await billDigest(gzipSync(SAMPLE))).toEqual({ sha1: SAMPLE_SHA1, size: SAMPLE.length });
  });

  it('reads 45 rows whose sums match the summary', async () => {
    const { rows, totals } = await parseAll(gzipSync(SAMPLE));
    expect(totals).toMatchObject({ rows: 45, payments: 31, refunds: 14, revoked: 0 });
    expect(totals).toMatchObject({ settlementTotal: 47, refundTotal: 14, feeTotal: 8, orderTotal: 47 });
    expect(rows).toHaveLength(45);
    const refund = rows[0] as TradeBillRow;
    expect(refund).toMatchObject({
      line: 2,
      tradeState: 'REFUND',
      outTradeNo: 'autotest_20190216081946_82335',
      transactionId: '4200000263201902167700134212',
      outRefundNo: 'REF4200000263201902167700963919',
      refundId: '50000709672019011908420787722',
      refundAmount: 1,
      requestedRefund: 1,
      settlementTotal: 0,
      orderTotal: 0,
      refundStatus: 'SUCCESS',
      mchid: '1921000401',
    });
    expect(refund.tradeTime.toISOString()).toBe('2019-02-18T21:01:46.000Z');
    const payment = rows.find((r) => r.tradeState === 'SUCCESS') as TradeBillRow;
    expect(payment).toMatchObject({ outRefundNo: '', refundId: '', refundStatus: '', feeMicroYuan: 1000 });
    expect(JSON.stringify(rows)).not.toContain('oHkLxt'); // the payer's openid is not kept
  });

  it('finds columns by name, legacy names included', async () => {
    const legacy = edit((s) => s.replace('应结订单金额,代金券金额', '总金额,企业红包金额'));
    expect((await parseAll(legacy)).totals.settlementTotal).toBe(47);
  });

  it('reads a bill written with LF line ends and without BOM the same way', async () => {
    const lf = edit((s) => s.replaceAll('\r\n', '\n').replace('\uFEFF', ''));
    expect((await parseAll(lf)).totals.rows).toBe(45);
  });

  it('refuses a row with a comma+backtick inside a field (column count)', async () => {
    expect(await integrityReason(edit((s) => s.replace('`autotest,`', '`auto,`test,`')))).toBe(
      'column_count',
    );
  });

  it('refuses a bill whose summary does not add up', async () => {
    expect(await integrityReason(edit((s) => s.replace('`45.0,`0.47', '`44.0,`0.47')))).toBe(
      'summary_mismatch',
    );
    expect(await integrityReason(edit((s) => s.replace('`0.47,`0.14\r\n', '`0.48,`0.14\r\n')))).toBe(
      'summary_mismatch',
    );
  });

  it('refuses a bill without its summary, a truncated gzip, an unknown state', async () => {
    expect(await integrityReason(edit((s) => s.slice(0, s.indexOf('总交易单数'))))).toBe('bad_format');
    const gz = gzipSync(SAMPLE);
    expect(await integrityReason(gz.subarray(0, gz.length - 40))).toBe('bad_gzip');
    await expect(billDigest(gz.subarray(0, gz.length - 40))).rejects.toThrow(BillIntegrityError);
    expect(await integrityReason(edit((s) => s.replace('`JSAPI,`REFUND', '`JSAPI,`WHATEVER')))).toBe(
      'bad_format',
    );
    expect(await integrityReason(edit((s) => s.replace('`0.03,`0.00,`0,', '`0.0x,`0.00,`0,')))).toBe(
      'bad_format',
    );
  });

  it('refuses a header that lacks a column it reads', async () => {
    expect(await integrityReason(edit((s) => s.replace('商户订单号', '订单号')))).toBe('bad_format');
  });

  it('reads the same rows however the bytes are cut (lines and UTF-8 characters across chunks)', async () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < SAMPLE.length; i += 7) chunks.push(SAMPLE.subarray(i, i + 7));
    const rows: TradeBillRow[] = [];
    const totals = await parseTradeBill(Readable.from(chunks), { onRows: (b) => void rows.push(...b) });
    expect(totals).toEqual((await parseAll(SAMPLE)).totals);
    expect(rows.map((r) => r.outTradeNo)).toEqual((await parseAll(SAMPLE)).rows.map((r) => r.outTradeNo));
    expect(rows[0]?.line).toBe(2);
  });

  it('reads a bill of many decoded pieces the same way, whole, gzip or cut anywhere', async () => {
    // The sample's 45 detail rows (Chinese in them: multi-byte characters) 600 times, ~3 MB: the
    // parser decodes it in pieces of 32 KiB cut at line ends, so rows fall on every side of a cut.
    const [head, ...rest] = SAMPLE.toString('utf8').split('\r\n');
    const details = rest.filter(
      (l) => l.startsWith('`') && rest.indexOf(l) < rest.findIndex((x) => x.startsWith('总交易单数')),
    );
    const times = 600;
    const summary = (await parseAll(SAMPLE)).totals;
    const scaled = [
      `${summary.rows * times}.0`,
      fenToYuan(summary.settlementTotal * times),
      fenToYuan(summary.refundTotal * times),
      fenToYuan(summary.rechargeCouponRefundTotal * times),
      fenToYuan(
        Math.round(
          (details.reduce((sum, l) => sum + feeToMicroYuan(l.split(',`')[22] as string, 'fee'), 0) * times) /
            1000,
        ),
      ),
      fenToYuan(summary.orderTotal * times),
      fenToYuan(summary.requestedRefundTotal * times),
    ];
    const summaryHeader = rest.find((l) => l.startsWith('总交易单数')) as string;
    const big = Buffer.from(
      [
        head,
        ...Array.from({ length: times }, () => details).flat(),
        summaryHeader,
        scaled.map((v) => `\`${v}`).join(','),
        '',
      ].join('\r\n'),
      'utf8',
    );
    expect(big.length).toBeGreaterThan(20 * 32 * 1024);
    const whole = await parseAll(big);
    expect(whole.rows).toHaveLength(45 * times);
    expect(whole.totals.rows).toBe(45 * times);
    const expected = whole.rows.map((r) => `${r.line} ${r.outTradeNo} ${r.outRefundNo} ${r.orderTotal}`);
    expect(expected[45]).toBe(expected[0]?.replace(/^2 /, '47 '));
    for (const input of [
      billChunks(gzipSync(big)),
      billContent(gzipSync(big)),
      Readable.from(
        Array.from({ length: Math.ceil(big.length / 4099) }, (_, i) =>
          big.subarray(i * 4099, (i + 1) * 4099),
        ),
      ),
    ]) {
      const rows: TradeBillRow[] = [];
      const totals = await parseTradeBill(input, { onRows: (b) => void rows.push(...b) });
      expect(totals).toEqual(whole.totals);
      expect(rows.map((r) => `${r.line} ${r.outTradeNo} ${r.outRefundNo} ${r.orderTotal}`)).toEqual(expected);
    }
  });

  it('streams: the rows of what has arrived reach the caller before the rest of the file', async () => {
    const input = new PassThrough();
    const batches: string[][] = [];
    const parsing = parseTradeBill(input, {
      onRows: (b) => void batches.push([...b].map((r) => r.outTradeNo)),
    });
    // The first part ends inside a row: the rows before it come now; that row, once complete, then
    // the rows after it.
    const cut = SAMPLE.indexOf(0x0a, SAMPLE.length / 2) + 10;
    input.write(SAMPLE.subarray(0, cut));
    for (let i = 0; i < 100 && batches.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(batches).toHaveLength(1);
    input.end(SAMPLE.subarray(cut));
    const totals = await parsing;
    expect(batches.map((b) => b.length).slice(1, 2)).toEqual([1]);
    expect(batches).toHaveLength(3);
    expect(batches.flat()).toEqual((await parseAll(SAMPLE)).rows.map((r) => r.outTradeNo));
    expect(batches[0]?.length).toBe(SAMPLE.subarray(0, cut).toString().split('\n').length - 2);
    expect(totals.rows).toBe(45);
  });
});
