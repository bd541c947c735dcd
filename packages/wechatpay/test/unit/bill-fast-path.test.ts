import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BillIntegrityError, fenToYuan, parseTradeBill, type TradeBillRow } from '../../src/index.ts';

// parseTradeBill reads amounts and times digit by digit and falls back to the strict yuanToFen /
// beijingToUtc for anything irregular: both ways must agree on every value, and refuse the same.
const SAMPLE = readFileSync(new URL('../fixtures/tradebill-ALL-sample.csv', import.meta.url), 'utf8');
const [HEADER, FIRST] = SAMPLE.split('\r\n') as [string, string];
const SUMMARY = SAMPLE.slice(SAMPLE.indexOf('总交易单数'));

/** The sample's first row with 订单金额 (column 25) and 交易时间 (column 1) replaced. */
function row(order: string, time?: string): string {
  const fields = FIRST.split(',`');
  fields[24] = order;
  if (time !== undefined) fields[0] = `\`${time}`;
  return fields.join(',`');
}

/** The rows read (the summary no longer adds up: that error comes after the rows). */
async function read(lines: string[]): Promise<TradeBillRow[] | BillIntegrityError> {
  const rows: TradeBillRow[] = [];
  try {
    await parseTradeBill(Readable.from([Buffer.from([HEADER, ...lines, SUMMARY].join('\r\n'))]), {
      onRows: (b) => void rows.push(...b),
    });
  } catch (err) {
    if (!(err instanceof BillIntegrityError)) throw err;
    if (err.reason !== 'summary_mismatch') return err;
  }
  return rows;
}

describe('parseTradeBill reads values digit by digit, exactly as the strict readers', () => {
  it('reads every amount the bill can write', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -1e12, max: 1e13 }), async (fen) => {
        const rows = (await read([row(fenToYuan(fen))])) as TradeBillRow[];
        expect(rows[0]?.orderTotal).toBe(fen);
      }),
      { numRuns: 200 },
    );
    const short = (await read([row('12.5'), row('7'), row('-0.00'), row('0012.30')])) as TradeBillRow[];
    expect(short.map((r) => r.orderTotal)).toEqual([1250, 700, 0, 1230]);
  });

  it('refuses what is not an amount, with the strict reader’s message', async () => {
    for (const bad of ['1.', '.5', '+1', '1.234', '1e3', '', '-', '1,0', '１', '90071992547409.93']) {
      const err = await read([row(bad)]);
      expect(err).toBeInstanceOf(BillIntegrityError);
      expect((err as BillIntegrityError).reason).toBe('bad_format');
      expect((err as BillIntegrityError).message).toMatch(/^line 2: 订单金额: /);
    }
  });

  it('reads times across days, and refuses an impossible one', async () => {
    const rows = (await read([
      row('0.01', '2019-02-19 05:01:46'),
      row('0.01', '2019-02-19 23:59:59'),
      row('0.01', '2019-02-20 00:00:00'),
      row('0.01', '2019-02-19 00:00:01'),
    ])) as TradeBillRow[];
    expect(rows.map((r) => r.tradeTime.toISOString())).toEqual([
      '2019-02-18T21:01:46.000Z',
      '2019-02-19T15:59:59.000Z',
      '2019-02-19T16:00:00.000Z',
      '2019-02-18T16:00:01.000Z',
    ]);
    for (const bad of [
      '2019-02-30 00:00:00',
      '2019-02-19 24:00:00',
      '2019-02-19 05:60:00',
      '2019-2-19 05:01:46',
    ]) {
      const err = await read([row('0.01', '2019-02-19 05:01:46'), row('0.01', bad)]);
      expect((err as BillIntegrityError).reason).toBe('bad_format');
      expect((err as BillIntegrityError).line).toBe(3);
    }
  });
});
