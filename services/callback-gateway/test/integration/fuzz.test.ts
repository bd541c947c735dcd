import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SIGNATURE_PROBE_PREFIX, type WeChatPayClient } from '@paysync/wechatpay';
import { type Captured, capturePayment, merchantClient, startCapture } from '../capture.ts';
import { createGatewayWorld, type GatewayWorld } from '../world.ts';

const CALLBACK = '/api/payment/wechat/callback';
const REQUESTS = 10_000;
const CONCURRENCY = 32;
let world: GatewayWorld;
let capture: Awaited<ReturnType<typeof startCapture>>;
let client: WeChatPayClient;

beforeAll(async () => {
  world = await createGatewayWorld('gw_fuzz', { maxBodyBytes: 16 * 1024 });
  capture = await startCapture();
  client = merchantClient(world.sandbox, world.merchant);
});

afterAll(async () => {
  await client?.close();
  await capture?.close();
  await world?.close();
});

/** mulberry32: a seeded generator, so a failing run can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Req = { body: Buffer; headers: Record<string, string> };

/**
 * Mutations of a genuine notification. Every one breaks something the signature covers or a
 * required header, so none may produce an observation, whatever the combination.
 */
function mutate(c: Captured, random: () => number): Req {
  const int = (n: number) => Math.floor(random() * n);
  const body = Buffer.from(c.body);
  const headers = { ...c.headers };
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  switch (int(13)) {
    case 0: {
      const i = int(body.length);
      body[i] = (body[i] as number) ^ (1 + int(255));
      return { body, headers };
    }
    case 1:
      return { body: body.subarray(0, int(body.length)), headers };
    case 2:
      return { body: Buffer.concat([body, bytes(1 + int(64))]), headers };
    case 3: {
      const ts = Number(headers['wechatpay-timestamp']);
      const delta = (1 + int(1000)) * (random() < 0.5 ? -1 : 1);
      return { body, headers: { ...headers, 'wechatpay-timestamp': String(ts + delta) } };
    }
    case 4:
      return { body, headers: { ...headers, 'wechatpay-nonce': `${headers['wechatpay-nonce']}${int(10)}` } };
    case 5: {
      const choices = [
        bytes(256).toString('base64'),
        `${SIGNATURE_PROBE_PREFIX}${bytes(192).toString('base64')}`,
        (headers['wechatpay-signature'] as string).slice(0, 1 + int(300)),
        'not base64 at all !!',
      ];
      return { body, headers: { ...headers, 'wechatpay-signature': choices[int(choices.length)] as string } };
    }
    case 6: {
      const required = ['wechatpay-serial', 'wechatpay-signature', 'wechatpay-timestamp', 'wechatpay-nonce'];
      const h = { ...headers };
      delete h[required[int(required.length)] as string];
      return { body, headers: h };
    }
    case 7: {
      const serials = [
        bytes(20).toString('hex').toUpperCase(),
        'PUB_KEY_ID_0000000000000001',
        '../../etc',
        '',
      ];
      return { body, headers: { ...headers, 'wechatpay-serial': serials[int(serials.length)] as string } };
    }
    case 8:
      return { body, headers: { ...headers, 'wechatpay-signature-type': 'WECHATPAY2-SM2-WITH-SM3' } };
    case 9: {
      const types = ['text/plain', 'application/x-www-form-urlencoded', 'text/xml', 'multipart/form-data'];
      return { body, headers: { ...headers, 'content-type': types[int(types.length)] as string } };
    }
    case 10:
      return { body: bytes(1 + int(2048)), headers };
    case 11:
      return { body: Buffer.concat([body, Buffer.alloc(16 * 1024 + int(4096), 0x20)]), headers };
    default:
      return {
        body,
        headers: { ...headers, 'wechatpay-timestamp': ['', 'NaN', '1e9', '-5', '12.5'][int(5)] as string },
      };
  }
}

describe('fuzzing the callback', () => {
  it('answers 10,000 mutated notifications with 4xx, publishes none of them, and stays healthy', async () => {
    const genuine: Captured[] = [];
    for (let i = 0; i < 4; i += 1) {
      genuine.push(await capturePayment(world.sandbox, client, capture, { appid: world.merchant.appid }));
    }
    const random = seeded(20_260_301);
    const requests = Array.from({ length: REQUESTS }, () =>
      mutate(genuine[Math.floor(random() * 4)] as Captured, random),
    );
    const before = await world.topicCount();
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length) {
          const r = requests[next++] as Req;
          const res = await world.post(CALLBACK, r.body, r.headers);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }),
    );

    const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(answered).toBe(REQUESTS);
    expect([...statuses.keys()].every((s) => s >= 400 && s < 500)).toBe(true);
    expect(await world.topicCount()).toBe(before);

    // Still healthy: nothing left in flight, and a genuine payment goes through end to end.
    expect(world.gateway.inFlight()).toBe(0);
    const control = await capturePayment(world.sandbox, client, capture, { appid: world.merchant.appid });
    expect((await world.post(CALLBACK, control.body, control.headers)).status).toBe(204);
    expect(await world.topicCount()).toBe(before + 1);
    const acknowledged = (await world.metrics.notifications.get()).values.find(
      (v) => v.labels.outcome === 'acknowledged',
    );
    expect(acknowledged?.value).toBe(1);
  });
});
