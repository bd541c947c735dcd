import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { WeChatPayClient } from '@paysync/wechatpay';
import { capturePayment, merchantClient, startCapture } from '../capture.ts';
import { API_TOKEN, createGatewayWorld, type GatewayWorld } from '../world.ts';

// Notifications need Kafka and the keys, never MySQL: with the gateway's database down it stays
// ready and acknowledges WeChat, while the order API answers 503 itself.

let world: GatewayWorld;
let capture: Awaited<ReturnType<typeof startCapture>>;
let client: WeChatPayClient;

beforeAll(async () => {
  world = await createGatewayWorld('gw_db_down', { gatewayMysqlDown: true });
  capture = await startCapture();
  client = merchantClient(world.sandbox, world.merchant);
  await client.start();
});
afterAll(async () => {
  await client?.close();
  await capture?.close();
  await world?.close();
});

describe('when the gateway’s database is down', () => {
  it('stays ready and acknowledges a genuine notification, which reaches Kafka', async () => {
    // The running gateway's /readyz: every check it makes passes.
    const ready = await fetch(`${world.service.opsUrl}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({
      status: 200,
      body: {
        status: 'ready',
        checks: [
          { name: 'kafka producer', ok: true },
          { name: 'verification keys', ok: true },
        ],
      },
    });
    const n = await capturePayment(world.sandbox, client, capture, { appid: world.merchant.appid });
    const answer = await world.post('/api/payment/wechat/callback', n.body, n.headers);
    expect(answer.status).toBe(204);
    const observed = await world.collected();
    expect(observed.filter((o) => o.outTradeNo === n.outTradeNo).map((o) => o.tradeState)).toEqual([
      'SUCCESS',
    ]);
  });

  it('answers the order API with 503 DATABASE_UNAVAILABLE and Retry-After, not 500', async () => {
    const create = await world.api(
      'POST',
      '/api/payment/orders',
      {
        merchant_order_no: 'M-DB-DOWN-1',
        user_id: 'user-42',
        amount_fen: 1000,
        points: 1000,
        trade_type: 'NATIVE',
        description: '积分充值 1000',
      },
      API_TOKEN,
    );
    expect(create.status).toBe(503);
    expect(create.json).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect(create.headers['retry-after']).toBe('5');
    const read = await world.api('GET', '/api/payment/orders/RCDBDOWN00000001');
    expect(read.status).toBe(503);
    expect(read.json).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
  });
});
