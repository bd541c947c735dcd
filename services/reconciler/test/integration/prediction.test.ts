import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from '@paysync/db';
import { loadOrders, syncOrder } from '@paysync/reconcile';
import { eventually } from '@paysync/testkit';
import { createReconcilerWorld, type ReconcilerWorld, TEST_POLICY, type TestOrder } from '../world.ts';

// A dry run (payctl --dry-run, PaymentRepair dryRun) promises what the ledger will do. Both come
// from the same decide(): here each promise is checked against what the ledger then really did.

let world: ReconcilerWorld;
beforeAll(async () => {
  world = await createReconcilerWorld('rec_prediction');
});
afterAll(async () => {
  await world?.close();
});

const past = () => new Date(Date.now() - 60_000);

type Case = {
  name: string;
  setUp(order: TestOrder): Promise<void> | void;
  options?: Parameters<ReconcilerWorld['createOrders']>[1];
  expected: string;
};

const cases: Case[] = [
  { name: 'paid at WeChat, amounts agree', setUp: (o) => void world.pay(o), expected: 'paid' },
  {
    name: 'paid at WeChat for another amount than the order’s',
    setUp: (o) => void world.pay(o),
    options: { dbAmountTotal: 999 },
    expected: 'pending',
  },
  {
    name: 'paid at WeChat after paysync expired the order',
    setUp: async (o) => {
      world.pay(o);
      await world.pool.query("UPDATE payment_orders SET status = 'expired' WHERE out_trade_no = ?", [
        o.outTradeNo,
      ]);
    },
    expected: 'paid',
  },
  {
    name: 'closed at WeChat before its time_expire',
    setUp: (o) => void world.sandbox.closeOrder(o.outTradeNo),
    expected: 'cancelled',
  },
  {
    name: 'unpaid and past time_expire: closed, then expired',
    setUp: () => {},
    options: { dbTimeExpire: past() },
    expected: 'expired',
  },
  { name: 'unpaid, still payable', setUp: () => {}, expected: 'pending' },
  { name: 'PAYERROR at WeChat', setUp: (o) => void world.sandbox.fail(o.outTradeNo), expected: 'failed' },
];

describe('dry-run prediction equals the ledger’s decision', () => {
  it.each(cases)('$name', async ({ setUp, options, expected }) => {
    const [order] = await world.createOrders(1, options);
    await setUp(order!);
    const load = async () => (await loadOrders(world.pool, [order!.outTradeNo])).get(order!.outTradeNo)!;
    const deps = {
      wechat: world.client,
      publisher: world.publisher,
      policy: TEST_POLICY,
      origin: { producer: 'payctl', actor: 'alice', reason: 'prediction test' },
    };
    const dry = await syncOrder({ ...deps, dryRun: true }, await load());
    const applied = await syncOrder(deps, await load());
    expect(applied.outcome).not.toBe('error');
    await world.waitUntilConsumed();
    const after = (await load()).status;
    expect({ predicted: dry.prediction?.statusAfter, applied: after }).toEqual({
      predicted: expected,
      applied: expected,
    });
  });
});

describe('a refund learnt only from a query', () => {
  it('credits nothing for an order paid and refunded at WeChat before paysync settled it, and alerts', async () => {
    const [order] = await world.createOrders(1, { tag: 'Q' });
    world.pay(order!);
    world.sandbox.refund(order!.outTradeNo, { amount: order!.amountTotal });
    const before = (await loadOrders(world.pool, [order!.outTradeNo])).get(order!.outTradeNo)!;
    const deps = {
      wechat: world.client,
      publisher: world.publisher,
      policy: TEST_POLICY,
      origin: { producer: 'reconciler' },
    };
    const dry = await syncOrder({ ...deps, dryRun: true }, before);
    expect(dry.wechatState).toBe('REFUND');
    expect(dry.prediction).toMatchObject({ statusAfter: 'pending', change: false });
    await syncOrder(deps, before);
    await world.waitUntilConsumed();
    expect((await world.order(order!.outTradeNo))?.status).toBe('pending');
    const [[entries]] = await world.pool.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM point_transactions WHERE out_trade_no = ?',
      [order!.outTradeNo],
    );
    expect(Number(entries?.n)).toBe(0);
    const alert = await eventually('the refund_unknown alert', async () =>
      world.alerts.find((a) => a.type === 'refund_unknown' && a.outTradeNo === order!.outTradeNo),
    );
    expect(alert?.severity).toBe('critical');
  });
});
