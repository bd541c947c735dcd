import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createPool, migrateUp, type Pool } from '@paysync/db';
import { createIsolatedDatabase, eventually, type IsolatedDatabase } from '@paysync/testkit';
import {
  addDays,
  BillIntegrityError,
  beijingDay,
  beijingDayRange,
  billChunks,
  billContent,
  fenToYuan,
  parseTradeBill,
  TRADE_BILL_ALL_SUMMARY_HEADER,
  type TradeBillRow,
  type WeChatPayClient,
} from '@paysync/wechatpay';
import { type Sandbox, startSandbox } from '@paysync/wechatpay-sandbox';
import {
  BillDiffer,
  type BillRunSummary,
  billBooks,
  billDifferences,
  billRun,
  DifferenceNotOpenError,
  PaidOrderSet,
  packOrder,
  type RefundQuery,
  resolveDifference,
  runTradeBill,
} from '../../src/index.ts';
import { newOutTradeNo, recordingPublisher, sandboxClient } from '../support.ts';

let db: IsolatedDatabase;
let pool: Pool;
let sandbox: Sandbox;
let client: WeChatPayClient;
let skewMs = 0;
const clock = () => Date.now() + skewMs;
let publisher: ReturnType<typeof recordingPublisher>;

beforeAll(async () => {
  db = await createIsolatedDatabase('reconcile_bill');
  pool = createPool({ url: db.url, connectionLimit: 6 });
  await migrateUp(pool);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});
beforeEach(async () => {
  skewMs = 0;
  for (const table of ['trade_bill_differences', 'trade_bill_runs', 'point_transactions', 'payment_orders'])
    await pool.query(`DELETE FROM ${table}`);
  sandbox = await startSandbox({ clock, faults: { notifyUnreachable: 'not_attempted' } });
  client = await sandboxClient(sandbox, { clock });
  publisher = recordingPublisher();
});
afterEach(async () => {
  await client.close();
  await sandbox.close();
});

const today = () => beijingDay(new Date(clock()));

/** The rows of a bill's text (header and rows; the summary is not needed for this). */
async function rowsOf(text: string): Promise<TradeBillRow[]> {
  const rows: TradeBillRow[] = [];
  await parseTradeBill([Buffer.from(text)], { onRows: (b) => void rows.push(...b) }).catch((err) => {
    if (!(err instanceof BillIntegrityError && err.message.includes('without its summary'))) throw err;
  });
  return rows;
}

/** An order at the sandbox (prepaid; paid when `pay`), and its row here as given. */
async function order(o: {
  pay?: boolean;
  amount?: number;
  here?: { status: string; amount?: number; successTime?: Date } | null;
}): Promise<string> {
  const no = newOutTradeNo('B');
  const amount = o.amount ?? 1000;
  await client.prepayNative({
    appid: sandbox.merchant!.appid,
    description: 'points recharge',
    outTradeNo: no,
    notifyUrl: 'http://127.0.0.1:9/api/payment/wechat/callback',
    amountTotal: amount,
  });
  const tx = o.pay ? sandbox.pay(no) : undefined;
  if (o.here === null) return no;
  const here = o.here ?? { status: 'paid' };
  const paidHere = here.status === 'paid' || here.status === 'refunded';
  await pool.query(
    `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total, points,
       status, transaction_id, time_expire, success_time) VALUES (?, 'user-bill', ?, ?, 'NATIVE', 'points recharge', ?, ?, ?, ?, ?, ?)`,
    [
      no,
      sandbox.merchant!.mchid,
      sandbox.merchant!.appid,
      here.amount ?? amount,
      here.amount ?? amount,
      here.status,
      paidHere ? (tx?.transaction_id ?? `4200${Date.now()}${Math.floor(Math.random() * 1e6)}`) : null,
      new Date(clock() + 3_600_000),
      paidHere
        ? (here.successTime ?? (tx?.success_time ? new Date(tx.success_time) : new Date(clock())))
        : null,
    ],
  );
  return no;
}

async function reversal(outTradeNo: string, outRefundNo: string): Promise<void> {
  await pool.query(
    `INSERT INTO point_transactions (user_id, out_trade_no, entry_type, reference_no, points_delta, balance_after, created_at)
     VALUES ('user-bill', ?, 'refund_reversal', ?, -100, 0, ?)`,
    [outTradeNo, outRefundNo, new Date(clock())],
  );
}

function run(billDate = today(), queryRefund?: RefundQuery): Promise<BillRunSummary> {
  return runTradeBill(
    {
      pool,
      client,
      mchid: sandbox.merchant!.mchid,
      sync: {
        wechat: client,
        publisher,
        origin: { producer: 'reconciler-bill' },
        clock,
      },
      clock,
      ...(queryRefund ? { queryRefund } : {}),
    },
    { billDate },
  );
}

async function setBillFaults(patch: object): Promise<void> {
  const res = await fetch(`${sandbox.url}/sandbox/bill/faults`, {
    method: 'POST',
    body: JSON.stringify(patch),
  });
  expect(res.status).toBe(200);
}

const byKey = async (billDate = today()) =>
  new Map(
    (await billDifferences(pool, { mchid: sandbox.merchant!.mchid, billDate })).map((d) => [
      `${d.class}:${d.refKey}`,
      d,
    ]),
  );

describe('a trade-bill run', () => {
  it('finds every class of difference in both directions, records and acts on each once', async () => {
    await order({ pay: true }); // in both, equal: no difference
    const unsettled = await order({ pay: true, here: { status: 'expired' } });
    const wrongAmount = await order({ pay: true, here: { status: 'paid', amount: 999 } });
    const onlyHere = await order({ pay: false, here: { status: 'paid' } });
    const refunded = await order({ pay: true });
    sandbox.refund(refunded, { outRefundNo: 'RFBILL_NOT_REVERSED', amount: 300 });
    const processing = await order({ pay: true });
    sandbox.refund(processing, { outRefundNo: 'RFBILL_PROCESSING', amount: 100, status: 'PROCESSING' });
    const reversedOnly = await order({ pay: true });
    await reversal(reversedOnly, 'RFBILL_ONLY_HERE');
    const reversedBoth = await order({ pay: true });
    sandbox.refund(reversedBoth, { outRefundNo: 'RFBILL_BOTH', amount: 1000 });
    await reversal(reversedBoth, 'RFBILL_BOTH');
    await setBillFaults({ extraPayments: 1 });
    // The two refunds asked to succeed settle on the sandbox's timer (its notifications go nowhere).
    await eventually('refunds settled at the sandbox', async () =>
      [refunded, reversedBoth].every((no) => sandbox.order(no).refunds[0]?.status === 'SUCCESS')
        ? true
        : undefined,
    );

    const first = await run();
    expect(first).toMatchObject({ status: 'succeeded', exitCode: 0, error: null });
    expect(first.totals).toMatchObject({ payments: 8, refunds: 3, revoked: 0 });
    expect(first.differences).toEqual({
      paid_not_settled: 1,
      unknown_order: 1,
      missing_at_wechat: 1,
      amount_mismatch: 1,
      refund_not_reversed: 1,
      reversal_not_at_wechat: 1,
      refund_processing: 1,
      revoked: 0,
      file_integrity: 0,
      no_statement: 0,
    });
    expect(first.critical).toBe(3); // unknown order, amount, refund not reversed
    const found = await byKey();
    expect(found.get(`paid_not_settled:${unsettled}`)).toMatchObject({
      status: 'open',
      action: 'query_order',
      actionStatus: 'done',
      ours: { status: 'expired', amount_total: 1000 },
    });
    expect(found.get(`paid_not_settled:${unsettled}`)?.actionResult).toMatch(/^queried: paid/);
    // The queries published WeChat's signed answers for the ledger to apply: nothing was written
    // here. The refund never reversed and the one still processing were asked about by number.
    expect(
      publisher.observed
        .map((o) => [
          o.outTradeNo,
          o.tradeState,
          o.refund?.outRefundNo ?? null,
          o.refund?.refundStatus ?? null,
        ])
        .sort(),
    ).toEqual(
      [
        [unsettled, 'SUCCESS', null, null],
        [refunded, 'REFUND', 'RFBILL_NOT_REVERSED', 'SUCCESS'],
        [processing, 'REFUND', 'RFBILL_PROCESSING', 'PROCESSING'],
      ].sort(),
    );
    expect(found.get(`amount_mismatch:${wrongAmount}`)).toMatchObject({
      severity: 'critical',
      ours: { amount_total: 999 },
      theirs: { order_total: 1000 },
    });
    expect(found.get(`missing_at_wechat:${onlyHere}`)).toMatchObject({ status: 'held', action: 'hold' });
    expect(found.get('refund_not_reversed:RFBILL_NOT_REVERSED')).toMatchObject({
      outTradeNo: refunded,
      severity: 'critical',
      action: 'query_refund',
      actionStatus: 'done',
      theirs: { refund_amount: 300, refund_status: 'SUCCESS' },
    });
    expect(found.get('refund_not_reversed:RFBILL_NOT_REVERSED')?.actionResult).toMatch(/^queried: SUCCESS/);
    // Still processing at WeChat: asked again on the next run.
    expect(found.get('refund_processing:RFBILL_PROCESSING')).toMatchObject({
      severity: 'info',
      actionStatus: 'pending',
    });
    expect(found.get('reversal_not_at_wechat:RFBILL_ONLY_HERE')).toMatchObject({ status: 'held' });
    expect([...found.keys()].find((k) => k.startsWith('unknown_order:SANDBOXEXTRA'))).toBeDefined();
    const runRow = await billRun(pool, { billDate: today() });
    expect(runRow).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      rows: 11,
      differences: 7,
      criticalDifferences: 3,
    });
    expect(runRow?.fileSha1).toBe(first.file?.sha1);
    expect(runRow?.fileLocation).not.toContain('token');

    // Again: the same differences (same ids), no second query of what was done, the refund still
    // processing asked again.
    const asked: string[] = [];
    const second = await run(today(), async (r) => {
      asked.push(r.outRefundNo);
      return { done: true, result: 'refund applied' };
    });
    expect(second.differences).toEqual(first.differences);
    const again = await byKey();
    expect([...again.entries()].map(([k, d]) => [k, d.id])).toEqual(
      [...found.entries()].map(([k, d]) => [k, d.id]),
    );
    expect(publisher.observed).toHaveLength(3);
    expect(asked).toEqual(['RFBILL_PROCESSING']);
    expect(again.get('refund_processing:RFBILL_PROCESSING')).toMatchObject({ actionStatus: 'done' });
    expect((await billRun(pool, { billDate: today() }))?.attempts).toBe(2);

    // A person resolves one; a difference that no longer differs is cleared on the next run.
    const amount = again.get(`amount_mismatch:${wrongAmount}`)!;
    await resolveDifference(
      pool,
      amount.id,
      { actor: 'alice', reason: 'INC-7 amount corrected' },
      new Date(),
    );
    await expect(
      resolveDifference(pool, amount.id, { actor: 'a', reason: 'r' }, new Date()),
    ).rejects.toBeInstanceOf(DifferenceNotOpenError);
    // As the ledger does once it applied WeChat's answer.
    await pool.query(
      "UPDATE payment_orders SET status = 'paid', transaction_id = ?, success_time = ? WHERE out_trade_no = ?",
      [sandbox.order(unsettled).transaction_id, new Date(sandbox.order(unsettled).success_time!), unsettled],
    );
    await run();
    const third = await byKey();
    expect(third.get(`amount_mismatch:${wrongAmount}`)).toMatchObject({
      status: 'resolved',
      resolution: 'by_person',
      resolvedBy: 'alice',
      resolvedReason: 'INC-7 amount corrected',
    });
    expect(third.get(`paid_not_settled:${unsettled}`)).toMatchObject({
      status: 'resolved',
      resolution: 'cleared',
    });
  });

  it('holds a payment absent from the bill over the day boundary, then escalates what is still missing', async () => {
    const day = today();
    const lateAtWechat = await order({ pay: false, here: { status: 'paid' } });
    const neverAtWechat = await order({ pay: false, here: { status: 'paid' } });
    await order({ pay: true });
    const first = await run(day);
    expect(first.differences.missing_at_wechat).toBe(2);
    expect(first.critical).toBe(0);

    skewMs = 86_400_000; // the next day: WeChat dates the late payment then
    sandbox.pay(lateAtWechat);
    await pool.query('UPDATE payment_orders SET success_time = ? WHERE out_trade_no = ?', [
      new Date(Date.parse(`${day}T23:59:59+08:00`)),
      lateAtWechat,
    ]);
    const next = await run(addDays(day, 1));
    expect(next.held).toEqual({ resolved: 1, escalated: 1 });
    expect(next.critical).toBe(1);
    const held = await byKey(day);
    expect(held.get(`missing_at_wechat:${lateAtWechat}`)).toMatchObject({
      status: 'resolved',
      resolution: 'in_later_bill',
    });
    expect(held.get(`missing_at_wechat:${neverAtWechat}`)).toMatchObject({
      status: 'open',
      severity: 'critical',
      action: 'alert',
    });
  });

  it('never diffs a file that fails a check, and succeeds when run again', async () => {
    await order({ pay: true, here: { status: 'expired' } });
    await setBillFaults({ badHashNext: 1 });
    const bad = await run();
    expect(bad).toMatchObject({ status: 'failed', exitCode: 1, error: { code: 'BILL_INTEGRITY' } });
    expect(publisher.observed).toHaveLength(0);
    expect([...(await byKey()).keys()]).toEqual(['file_integrity:hash_mismatch']);
    await setBillFaults({ truncateGzipNext: 1 });
    expect((await run()).status).toBe('failed');

    const good = await run();
    expect(good).toMatchObject({ status: 'succeeded', exitCode: 0 });
    const after = await byKey();
    expect(after.get('file_integrity:hash_mismatch')).toMatchObject({
      status: 'resolved',
      resolution: 'cleared',
    });
    expect(after.get('file_integrity:bad_gzip')).toMatchObject({ status: 'resolved', resolution: 'cleared' });
    expect(publisher.observed).toHaveLength(1);
  });

  it('reports STATEMENT_CREATING as not done, and NO_STATEMENT_EXIST as critical only on a day with paid orders', async () => {
    await order({ pay: true });
    await setBillFaults({ statementCreatingNext: 1 });
    expect(await run()).toMatchObject({ status: 'statement_creating', exitCode: 1 });
    expect((await billRun(pool, { billDate: today() }))?.status).toBe('statement_creating');

    const quiet = await run('2026-01-05');
    expect(quiet).toMatchObject({ status: 'no_statement', exitCode: 0, critical: 0 });
    await pool.query('UPDATE payment_orders SET success_time = ?', [new Date('2026-01-05T04:00:00Z')]);
    const loud = await run('2026-01-05');
    expect(loud).toMatchObject({ status: 'no_statement', exitCode: 1, critical: 1 });
    expect(loud.differences.no_statement).toBe(1);
  });

  it('classes a REVOKED row, and a CLOSED refund whose points were reversed here (real-format rows)', async () => {
    // The real-format sample with one payment revoked and one refund closed.
    const sample = readFileSync(
      new URL('../../../wechatpay/test/fixtures/tradebill-ALL-sample.csv', import.meta.url),
      'utf8',
    )
      .replace(
        '`autotest_20190219015232_89201,`wxab8acb865bb1637e,`NATIVE,`SUCCESS',
        '`autotest_20190219015232_89201,`wxab8acb865bb1637e,`NATIVE,`REVOKED',
      )
      .replace(
        '`REF4200000263201902167700963919,`0.01,`0.00,`ORIGINAL,`SUCCESS',
        '`REF4200000263201902167700963919,`0.01,`0.00,`ORIGINAL,`CLOSED',
      );
    await pool.query(
      `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total, points,
         status, transaction_id, time_expire, success_time)
       VALUES ('autotest_20190219015232_89201', 'u', '1921000401', 'wxab8acd895ab1638a', 'NATIVE', 'x', 3, 3, 'paid',
         '4200000263201902167700134902', '2019-02-19 00:00:00', '2019-02-18 17:52:32')`,
    );
    await reversal('autotest_20190216081946_82335', 'REF4200000263201902167700963919');
    const differ = new BillDiffer(billBooks(pool), {
      mchid: '1921000401',
      day: beijingDayRange('2019-02-19'),
      maxDifferences: 1000,
    });
    await parseTradeBill(billContent(Buffer.from(sample)), { onRows: (batch) => differ.rows(batch) });
    const found = await differ.finish();
    expect(found.find((d) => d.class === 'revoked')).toMatchObject({
      outTradeNo: 'autotest_20190219015232_89201',
      severity: 'warning',
      action: 'report',
      ours: { status: 'paid', amount_total: 3 },
      theirs: { trade_state: 'REVOKED' },
    });
    expect(found.find((d) => d.refKey === 'REF4200000263201902167700963919')).toMatchObject({
      class: 'reversal_not_at_wechat',
      theirs: { refund_status: 'CLOSED' },
      ours: { reversed: true },
    });
  });
  it('asks the books about scattered rows a thousand at a time, and compares the rest where they lie', async () => {
    // 3,000 payments made from one real-format row: every third paid here that day (one of them for
    // another amount), the others unknown here, all interleaved as a bill may list them.
    const sample = readFileSync(
      new URL('../../../wechatpay/test/fixtures/tradebill-ALL-sample.csv', import.meta.url),
      'utf8',
    );
    const lines = sample.split('\r\n');
    const template = lines.find((l) => l.split(',`')[9] === 'SUCCESS') as string;
    const [row] = [...(await rowsOf(`${lines[0]}\r\n${template}\r\n`))];
    const fields = template.split(',`');
    const no = (i: number) => `SCATTER${String(i).padStart(6, '0')}`;
    const n = 3000;
    const body = Array.from({ length: n }, (_, i) => {
      const f = [...fields];
      f[6] = no(i);
      return f.join(',`');
    });
    const fee = Math.floor((n * (row as TradeBillRow).feeMicroYuan + 500) / 1000);
    const summary = [
      n,
      fenToYuan(n * (row as TradeBillRow).settlementTotal),
      '0.00',
      '0.00',
      fenToYuan(fee),
      fenToYuan(n * (row as TradeBillRow).orderTotal),
      '0.00',
    ].map((v) => `\`${v}`);
    const bill = [lines[0], ...body, TRADE_BILL_ALL_SUMMARY_HEADER.join(','), summary.join(',')].join('\r\n');
    const mchid = (row as TradeBillRow).mchid;
    const paidAt = (row as TradeBillRow).tradeTime;
    const paidHere = Array.from({ length: n / 3 }, (_, k) => k * 3);
    await pool.query(
      `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total, points,
         status, transaction_id, time_expire, success_time) VALUES ?`,
      [
        paidHere.map((i) => [
          no(i),
          'user-bill',
          mchid,
          'wxab8acd895ab1638a',
          'NATIVE',
          'x',
          i === 3 ? 4 : (row as TradeBillRow).orderTotal,
          1,
          'paid',
          `4200${i}`,
          paidAt,
          paidAt,
        ]),
      ],
    );
    const books = billBooks(pool);
    let lookups = 0;
    const differ = new BillDiffer(
      {
        ...books,
        orders: (nos) => {
          lookups += 1;
          return books.orders(nos);
        },
      },
      { mchid, day: beijingDayRange(beijingDay(paidAt)), maxDifferences: 10_000 },
    );
    let batches = 0;
    await parseTradeBill(billChunks(gzipSync(bill)), {
      onRows: (b) => {
        batches += 1;
        return differ.rows(b);
      },
    });
    const found = await differ.finish();
    expect(batches).toBeGreaterThan(10);
    expect(lookups).toBe(2);
    expect(found.filter((d) => d.class === 'unknown_order')).toHaveLength(n - n / 3);
    expect(found.filter((d) => d.class !== 'unknown_order')).toEqual([
      expect.objectContaining({
        class: 'amount_mismatch',
        outTradeNo: no(3),
        ours: { status: 'paid', amount_total: 4 },
        theirs: expect.objectContaining({ order_total: (row as TradeBillRow).orderTotal }),
      }),
    ]);
  });
});

describe("the books' side of a bill day", () => {
  it('reads every order paid or refunded that day, with its amount, and nothing else', async () => {
    const day = beijingDayRange('2026-03-02');
    const mchid = '1900000001';
    const at = (ms: number) => new Date(day.start.getTime() + ms);
    const rows: [string, string, string, number, Date | null][] = [
      ['PD-first-ms', mchid, 'paid', 1000, at(0)],
      ['PD|refunded*', mchid, 'refunded', 777, at(13 * 3_600_000)],
      ['PD_last_ms_of_the_day_0123456789', mchid, 'paid', 1, at(86_400_000 - 1)],
      // One per 15-minute window boundary and beyond: every window is read.
      ...Array.from(
        { length: 200 },
        (_, i) =>
          [`PD-w${i}`, mchid, 'paid', 100 + i, at(i * 431_000)] as [string, string, string, number, Date],
      ),
      ['PD-next-day', mchid, 'paid', 5, at(86_400_000)],
      ['PD-day-before', mchid, 'paid', 5, at(-1)],
      ['PD-pending', mchid, 'pending', 5, null],
      ['PD-expired', mchid, 'expired', 5, null],
      ['PD-other-merchant', '1900000002', 'paid', 5, at(60_000)],
    ];
    await pool.query(
      `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total, points,
         status, transaction_id, time_expire, success_time) VALUES ?`,
      [
        rows.map(([no, m, status, amount, success], i) => [
          no,
          'user-bill',
          m,
          'wxd678efh567hg6787',
          'NATIVE',
          'points recharge',
          amount,
          amount,
          status,
          success ? `42000000002026030200${String(i).padStart(8, '0')}` : null,
          at(86_400_000),
          success,
        ]),
      ],
    );
    const paid = new PaidOrderSet();
    const n = await billBooks(pool).paidBetween(mchid, day.start, day.end, paid);
    const expected = rows
      .filter(([no]) => !/next-day|day-before|pending|expired|other-merchant/.test(no))
      .map(([no, , status, amount]) => [no, packOrder(amount, status === 'refunded')] as [string, number]);
    expect(n).toBe(203);
    expect([...paid.remaining()].sort()).toEqual(expected.sort());
  });
});
