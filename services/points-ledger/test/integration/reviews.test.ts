import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createComponentAccount,
  createPool,
  listReviews,
  type Pool,
  type ReviewRow,
  type RowDataPacket,
  resolveReview,
} from '@paysync/db';
import { createRegistry } from '@paysync/observability';
import { eventually } from '@paysync/testkit';
import { createLedgerMetrics } from '../../src/index.ts';
import { createLedgerWorld, type LedgerWorld, observation, type SeedOrder } from '../world.ts';

// Money questions stay open until a person answers them: the ledger opens a payment review for a
// mismatch and for a late payment, and its gauge (read by the ledger's own database account) counts
// the open ones until payctl's account resolves them — the alerts PaysyncSettlementMismatch and
// PaysyncLatePayments are that gauge > 0.

let world: LedgerWorld;
const accounts: { drop: () => Promise<void> }[] = [];
let ledgerPool: Pool;
let payctlPool: Pool;

beforeAll(async () => {
  world = await createLedgerWorld('ledger_reviews');
  await world.startLedger();
  const ledger = await createComponentAccount(world.db.url, 'ledger');
  const payctl = await createComponentAccount(world.db.url, 'payctl');
  accounts.push(ledger, payctl);
  ledgerPool = createPool({ url: ledger.url, connectionLimit: 2 });
  payctlPool = createPool({ url: payctl.url, connectionLimit: 2 });
});

afterAll(async () => {
  await ledgerPool?.end();
  await payctlPool?.end();
  for (const a of accounts) await a.drop();
  await world?.close();
});

/** The open reviews by kind, as Prometheus would scrape them from the ledger. */
async function openReviewsGauge(): Promise<Record<string, number | undefined>> {
  const registry = createRegistry('points-ledger', { processMetrics: false });
  createLedgerMetrics(registry, { pool: ledgerPool, groupId: world.groupId, topic: 't' });
  const text = await registry.metrics();
  const value = (kind: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`paysync_ledger_open_reviews{kind="${kind}"`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const up = text.split('\n').find((l) => l.startsWith('paysync_ledger_metrics_source_up{source="mysql"'));
  expect(up?.endsWith(' 1')).toBe(true);
  return { mismatch: value('mismatch'), late_payment: value('late_payment') };
}

async function reviewsOf(order: SeedOrder): Promise<ReviewRow[]> {
  return listReviews(world.pool, { outTradeNo: order.outTradeNo });
}

async function journaled(order: SeedOrder, n: number): Promise<void> {
  await world.waitUntilConsumed();
  await eventually(`${n} observation(s) of ${order.outTradeNo} journaled`, async () => {
    const [rows] = await world.pool.query<(RowDataPacket & { n: number })[]>(
      'SELECT COUNT(*) AS n FROM order_observations WHERE out_trade_no = ?',
      [order.outTradeNo],
    );
    return Number(rows[0]?.n) >= n ? true : undefined;
  });
}

describe('payment reviews', () => {
  it('start at zero for every kind', async () => {
    expect(await openReviewsGauge()).toEqual({ mismatch: 0, late_payment: 0 });
  });

  it('keep a mismatch open however often it is seen, until a person resolves it; a second transaction is a new one', async () => {
    const order = await world.seedOrder();
    const wrongAmount = { amount: { total: order.amountTotal + 1, currency: 'CNY' as const } };
    // The notification, then the sweep asking about the same payment: one question.
    await world.observe(observation(order, wrongAmount));
    await world.observe(observation(order, { ...wrongAmount, source: 'query' }));
    await journaled(order, 2);
    const [open] = await reviewsOf(order);
    expect(await reviewsOf(order)).toHaveLength(1);
    expect(open).toMatchObject({
      kind: 'mismatch',
      seenCount: 2,
      observedFen: order.amountTotal + 1,
      resolvedAt: null,
    });
    expect((await openReviewsGauge()).mismatch).toBe(1);

    const answered = await resolveReview(
      payctlPool,
      open?.id as number,
      { resolution: 'refunded', actor: 'alice', reason: 'INC-1 refunded in the merchant platform' },
      new Date(),
    );
    expect(answered.closed).toBe(true);
    expect(answered.review).toMatchObject({ resolution: 'refunded', resolvedBy: 'alice' });
    expect((await openReviewsGauge()).mismatch).toBe(0);
    // Answered once: resolving again changes nothing.
    const again = await resolveReview(
      payctlPool,
      open?.id as number,
      { resolution: 'other', actor: 'bob', reason: 'INC-2' },
      new Date(),
    );
    expect(again).toMatchObject({ closed: false, review: { resolution: 'refunded', resolvedBy: 'alice' } });

    // The sweep sees the same payment again: counted, not reopened.
    await world.observe(observation(order, { ...wrongAmount, source: 'query' }));
    await journaled(order, 3);
    expect(await reviewsOf(order)).toEqual([
      expect.objectContaining({ id: open?.id, seenCount: 3, resolution: 'refunded' }),
    ]);
    expect((await openReviewsGauge()).mismatch).toBe(0);

    // Another transaction for the same order: a new question.
    await world.observe(
      observation(order, { ...wrongAmount, transactionId: '4200000000000000000000000000099' }),
    );
    await journaled(order, 4);
    expect((await reviewsOf(order)).filter((r) => r.resolvedAt === null)).toHaveLength(1);
    expect((await openReviewsGauge()).mismatch).toBe(1);
  });

  it('open one for a late payment, which is credited and stays open until answered kept', async () => {
    const order = await world.seedOrder({ status: 'expired', timeExpire: new Date(Date.now() - 60_000) });
    await world.observe(observation(order, { source: 'query' }));
    await journaled(order, 1);
    const [late] = await eventually('the late payment review', async () => {
      const r = await reviewsOf(order);
      return r.length > 0 ? r : undefined;
    });
    expect(late).toMatchObject({ kind: 'late_payment', resolvedAt: null, seenCount: 1 });
    expect((await openReviewsGauge()).late_payment).toBe(1);
    // Settled payments seen again are duplicates: no second review.
    await world.observe(observation(order, { source: 'notification' }));
    await journaled(order, 2);
    expect(await reviewsOf(order)).toHaveLength(1);

    await resolveReview(
      payctlPool,
      late?.id as number,
      { resolution: 'kept', actor: 'alice', reason: 'INC-3 paid at the last second' },
      new Date(),
    );
    expect((await openReviewsGauge()).late_payment).toBe(0);
  });

  it('settle a normal payment without any review', async () => {
    const order = await world.seedOrder();
    await world.observe(observation(order));
    await journaled(order, 1);
    expect(await reviewsOf(order)).toEqual([]);
  });
});
