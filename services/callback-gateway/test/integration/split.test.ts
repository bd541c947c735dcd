import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@paysync/testkit';
import { CALLBACK_PATH } from '../../src/index.ts';
import { createGatewayWorld, type GatewayWorld } from '../world.ts';

// The edge split in two (GATEWAY_ROLE): the public receiver verifies WeChat Pay's notifications
// without any key that signs requests; the private order service serves the order API only.

const worlds: GatewayWorld[] = [];
afterAll(async () => {
  for (const w of worlds) await w.close();
});

const newOrder = () => ({
  merchant_order_no: `M${randomBytes(8).toString('hex')}`,
  user_id: 'user-split',
  amount_fen: 500,
  points: 500,
  trade_type: 'NATIVE',
  description: 'points recharge',
});

describe('the notification receiver', () => {
  it('verifies notifications with the certificates archived in MySQL, and serves no order API', async () => {
    const world = await createGatewayWorld('gw_receiver', { role: 'receiver' });
    worlds.push(world);
    // An order made by the order service (here: the world's signing client, which archived the
    // platform certificates when it started).
    const no = `RCSPLIT${Date.now()}`;
    await world.orderService!.prepayNative({
      appid: world.merchant.appid,
      description: 'points recharge',
      outTradeNo: no,
      notifyUrl: world.notifyUrl,
      amountTotal: 500,
    });
    world.sandbox.pay(no);
    const observed = await eventually('the notification to be accepted and published', async () =>
      (await world.collected()).find((o) => o.outTradeNo === no),
    );
    expect(observed).toMatchObject({
      source: 'notification',
      tradeState: 'SUCCESS',
      evidence: { kind: 'notification' },
    });
    // The gateway publishes before it answers: the sandbox records the 204 a moment after the
    // message can be seen.
    const answered = await eventually(
      'the sandbox to record the gateway’s answer',
      async () => world.sandbox.notifications({ outTradeNo: no })[0]?.attempts.at(-1)?.status,
    );
    expect(answered).toBe(204);

    for (const [method, path] of [
      ['POST', '/api/payment/orders'],
      ['GET', `/api/payment/orders/${no}`],
      ['POST', `/api/payment/orders/${no}/refunds`],
    ] as const) {
      const res = await world.api(method, path, method === 'POST' ? newOrder() : undefined);
      expect([path, res.status]).toEqual([path, 404]);
    }
  });
});

describe('the order service', () => {
  it('serves the order API and answers no WeChat Pay callback', async () => {
    const world = await createGatewayWorld('gw_orders_only', { role: 'orders' });
    worlds.push(world);
    const created = await world.api('POST', '/api/payment/orders', newOrder());
    expect(created.status).toBe(201);
    const callback = await world.post(CALLBACK_PATH, '{}', { 'content-type': 'application/json' });
    expect(callback.status).toBe(404);
  });
});
