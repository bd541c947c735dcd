import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@paysync/testkit';
import type { WeChatPayClient } from '@paysync/wechatpay';
import { type Captured, capturePayment, merchantClient, startCapture } from '../capture.ts';
import { createGatewayWorld, type GatewayWorld } from '../world.ts';

const CALLBACK = '/api/payment/wechat/callback';
let world: GatewayWorld;
let capture: Awaited<ReturnType<typeof startCapture>>;
let client: WeChatPayClient;

beforeAll(async () => {
  world = await createGatewayWorld('gw_lifecycle', { maxInFlight: 1 });
  capture = await startCapture();
  client = merchantClient(world.sandbox, world.merchant);
});

afterAll(async () => {
  await client?.close();
  await capture?.close();
  await world?.close();
});

/** Starts a notification whose body is only half uploaded: it stays in flight until `finish()`. */
async function halfSent(c: Captured) {
  const body = new PassThrough();
  const half = Math.floor(c.body.length / 2);
  body.write(c.body.slice(0, half));
  const answer = world.post(CALLBACK, body as unknown as Buffer, {
    ...c.headers,
    'content-length': String(Buffer.byteLength(c.body)),
  });
  await eventually('the notification to be in flight', async () =>
    world.gateway.inFlight() === 1 ? true : undefined,
  );
  return {
    answer,
    finish: () => body.end(c.body.slice(half)),
  };
}

describe('in-flight limit', () => {
  it('answers 503 at once beyond the limit instead of queueing, and recovers when the slot frees', async () => {
    const first = await capturePayment(world.sandbox, client, capture, { appid: world.merchant.appid });
    const second = await capturePayment(world.sandbox, client, capture, { appid: world.merchant.appid });
    const slow = await halfSent(first);
    const busy = await world.post(CALLBACK, second.body, second.headers);
    expect(busy.status).toBe(503);
    expect(JSON.parse(busy.text)).toEqual({ code: 'FAIL', message: 'too many notifications in flight' });
    slow.finish();
    expect((await slow.answer).status).toBe(204);
    await eventually('the slot to free', async () => (world.gateway.inFlight() === 0 ? true : undefined));
    expect((await world.post(CALLBACK, second.body, second.headers)).status).toBe(204);
    const busyCount = (await world.metrics.notifications.get()).values.find(
      (v) => v.labels.outcome === 'busy',
    );
    expect(busyCount?.value).toBe(1);
  });
});

describe('graceful shutdown', () => {
  it('finishes the notification in flight and refuses new ones with 503 and Connection: close', async () => {
    const first = await capturePayment(world.sandbox, client, capture, { appid: world.merchant.appid });
    const second = await capturePayment(world.sandbox, client, capture, { appid: world.merchant.appid });
    const before = await world.topicCount();

    // The first notification is still uploading its body when shutdown begins.
    const slow = await halfSent(first);

    world.gateway.markShuttingDown();
    const refused = await world.post(CALLBACK, second.body, second.headers);
    expect(refused.status).toBe(503);
    expect(refused.headers.connection).toBe('close');
    expect(JSON.parse(refused.text)).toEqual({ code: 'FAIL', message: 'shutting down' });

    // SIGTERM's path: the kernel's stop steps wait for the request in flight before closing the rest.
    const stopped = world.service.stop('SIGTERM');
    slow.finish();
    const answered = await slow.answer;
    expect(answered.status).toBe(204);
    expect(await stopped).toBe(0);
    expect(await world.topicCount()).toBe(before + 1);
    expect(world.gateway.inFlight()).toBe(0);
  });
});
