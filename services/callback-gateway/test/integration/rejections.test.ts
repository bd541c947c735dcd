import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  buildSignedHeaders,
  NOTIFY_PROBE_USER_AGENT,
  SIGNATURE_PROBE_PREFIX,
  type WeChatPayClient,
} from '@paysync/wechatpay';
import { generateTestMerchant, type TestMerchant } from '@paysync/wechatpay-sandbox';
import { type Captured, capturePayment, merchantClient, startCapture } from '../capture.ts';
import { createGatewayWorld, type GatewayWorld } from '../world.ts';

const CALLBACK = '/api/payment/wechat/callback';
let world: GatewayWorld;
let capture: Awaited<ReturnType<typeof startCapture>>;
let client: WeChatPayClient;
const OTHER_APPID = 'wx0ther0app0000001';

let otherMerchant: TestMerchant;

beforeAll(async () => {
  // Two merchants sharing an APIv3 key, so the other's notifications decrypt here and only the
  // merchant check can refuse them; the gateway's merchant also has a second app it does not accept.
  const mine = await generateTestMerchant({ mchid: '1900009191' });
  mine.appids = [mine.appid, OTHER_APPID];
  otherMerchant = await generateTestMerchant({ mchid: '1900009292', appid: 'wx0ther0merchant01' });
  otherMerchant.apiV3Key = mine.apiV3Key;
  world = await createGatewayWorld('gw_reject', {
    maxBodyBytes: 16 * 1024,
    merchants: [mine, otherMerchant],
  });
  capture = await startCapture();
  client = merchantClient(world.sandbox, world.merchant);
});

afterAll(async () => {
  await client?.close();
  await capture?.close();
  await world?.close();
});

const genuine = () => capturePayment(world.sandbox, client, capture, { appid: world.merchant.appid });

/** Sends `requests`, then one genuine notification, and returns how many observations appeared. */
async function observationsFrom(send: () => Promise<void>): Promise<number> {
  const before = await world.topicCount();
  await send();
  const control = await genuine();
  const res = await world.post(CALLBACK, control.body, control.headers);
  expect(res.status).toBe(204);
  return (await world.topicCount()) - before - 1;
}

function headersWith(c: Captured, patch: Record<string, string | undefined>): Record<string, string> {
  const h: Record<string, string> = { ...c.headers };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete h[k];
    else h[k] = v;
  }
  return h;
}

describe('notifications the gateway refuses', () => {
  it('acknowledges a genuine captured notification (the baseline every case below alters)', async () => {
    const c = await genuine();
    const res = await world.post(CALLBACK, c.body, c.headers);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
  });

  it.each([
    [
      'forged: signed with another key',
      async (c: Captured) => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const forged = buildSignedHeaders({
          privateKey,
          serial: c.headers['wechatpay-serial'] as string,
          body: c.body,
          timestamp: Math.floor(Date.now() / 1000),
        });
        return { body: c.body, headers: { ...forged, 'content-type': 'application/json' } };
      },
      401,
      'bad_signature',
    ],
    [
      'tampered: one byte of the body changed',
      async (c: Captured) => ({ body: c.body.replace('"id":"', '"id":"X'), headers: c.headers }),
      401,
      'bad_signature',
    ],
    [
      'tampered: the timestamp moved by a second',
      async (c: Captured) => ({
        body: c.body,
        headers: headersWith(c, {
          'wechatpay-timestamp': String(Number(c.headers['wechatpay-timestamp']) + 1),
        }),
      }),
      401,
      'bad_signature',
    ],
    [
      'unknown serial',
      async (c: Captured) => ({
        body: c.body,
        headers: headersWith(c, { 'wechatpay-serial': randomBytes(20).toString('hex').toUpperCase() }),
      }),
      401,
      'unknown_serial',
    ],
    [
      'missing signature header',
      async (c: Captured) => ({
        body: c.body,
        headers: headersWith(c, { 'wechatpay-signature': undefined }),
      }),
      401,
      'missing_header',
    ],
    [
      'another signature type',
      async (c: Captured) => ({
        body: c.body,
        headers: headersWith(c, { 'wechatpay-signature-type': 'WECHATPAY2-SM2-WITH-SM3' }),
      }),
      401,
      'unsupported_signature_type',
    ],
    [
      'non-JSON content type',
      async (c: Captured) => ({ body: c.body, headers: headersWith(c, { 'content-type': 'text/plain' }) }),
      415,
      'unsupported_media_type',
    ],
    [
      'non-JSON body',
      async (c: Captured) => ({ body: 'payment=ok&amount=1000', headers: c.headers }),
      401,
      'bad_signature',
    ],
    [
      'oversized body',
      async (c: Captured) => ({ body: `${c.body}${' '.repeat(17 * 1024)}`, headers: c.headers }),
      413,
      'payload_too_large',
    ],
  ])('%s: answers 4xx FAIL and publishes nothing', async (_name, make, status, outcome) => {
    const c = await genuine();
    const counter = () => world.metrics.notifications.get();
    const before = (await counter()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
    const leaked = await observationsFrom(async () => {
      const { body, headers } = await make(c);
      const res = await world.post(CALLBACK, body, headers);
      expect(res.status).toBe(status);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'FAIL' });
    });
    expect(leaked).toBe(0);
    const after = (await counter()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
    expect(after - before).toBe(1);
  });

  it.each([
    ['stale', -301, 'stale_timestamp'],
    ['future', 301, 'stale_timestamp'],
  ])('refuses a %s timestamp signed by WeChat itself', async (_name, skew, outcome) => {
    world.sandbox.setFaults({ notificationSkewSeconds: skew });
    const c = await genuine().finally(() => world.sandbox.resetFaults());
    const leaked = await observationsFrom(async () => {
      const res = await world.post(CALLBACK, c.body, c.headers);
      expect(res.status).toBe(401);
    });
    expect(leaked).toBe(0);
    const failures = await world.metrics.signatureFailures.get();
    expect(failures.values.find((v) => v.labels.reason === outcome)?.value).toBeGreaterThan(0);
  });

  it('refuses WeChat’s signature probe and counts it as a probe', async () => {
    world.sandbox.setFaults({ probeNextNotifications: 1 });
    const c = await genuine().finally(() => world.sandbox.resetFaults());
    expect(c.headers['wechatpay-signature']?.startsWith(SIGNATURE_PROBE_PREFIX)).toBe(true);
    const leaked = await observationsFrom(async () => {
      expect((await world.post(CALLBACK, c.body, c.headers)).status).toBe(401);
    });
    expect(leaked).toBe(0);
    const failures = await world.metrics.signatureFailures.get();
    expect(failures.values.find((v) => v.labels.reason === 'probe')?.value).toBe(1);
    // Not an error of the notification SLO: its own outcome, never bad_signature.
    const answered = await world.metrics.notifications.get();
    expect(answered.values.find((v) => v.labels.outcome === 'signature_probe')?.value).toBe(1);
  });

  it('refuses paysync’s own unsigned notify-URL probe like any unsigned request, logging it at info', async () => {
    const lines = (outcome: string) =>
      world.logs
        .map((l) => JSON.parse(l) as { level: string; outcome?: string })
        .filter((l) => l.outcome === outcome);
    const probesBefore = lines('notify_probe').length;
    const strangersBefore = lines('missing_header').length;
    const probeCount = async () =>
      (await world.metrics.signatureFailures.get()).values.find((v) => v.labels.reason === 'probe')?.value ??
      0;
    const countBefore = await probeCount();
    const leaked = await observationsFrom(async () => {
      const probe = await world.post(CALLBACK, '{}', {
        'content-type': 'application/json',
        'user-agent': NOTIFY_PROBE_USER_AGENT,
      });
      expect(probe.status).toBe(401);
      expect(JSON.parse(probe.text)).toMatchObject({ code: 'FAIL' });
      const stranger = await world.post(CALLBACK, '{}', { 'content-type': 'application/json' });
      expect(stranger.status).toBe(401);
    });
    expect(leaked).toBe(0);
    const probes = lines('notify_probe').slice(probesBefore);
    expect(probes.map((l) => l.level)).toEqual(['info']);
    // The same request without the probe's User-Agent is still a warning.
    expect(
      lines('missing_header')
        .slice(strangersBefore)
        .map((l) => l.level),
    ).toEqual(['warn']);
    expect((await probeCount()) - countBefore).toBe(1);
  });

  it('refuses a correctly signed notification whose resource does not decrypt', async () => {
    world.sandbox.setFaults({ corruptNextNotificationResources: 1 });
    const c = await genuine().finally(() => world.sandbox.resetFaults());
    const leaked = await observationsFrom(async () => {
      const res = await world.post(CALLBACK, c.body, c.headers);
      expect(res.status).toBe(400);
    });
    expect(leaked).toBe(0);
  });

  it('refuses a verified notification for another app of the merchant with 403', async () => {
    const c = await capturePayment(world.sandbox, client, capture, { appid: OTHER_APPID });
    const leaked = await observationsFrom(async () => {
      const res = await world.post(CALLBACK, c.body, c.headers);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.text)).toEqual({
        code: 'FAIL',
        message: "the notification's appid is not this gateway's",
      });
    });
    expect(leaked).toBe(0);
  });

  it('refuses a verified notification for another merchant with 403', async () => {
    const other = merchantClient(world.sandbox, otherMerchant);
    try {
      const c = await capturePayment(world.sandbox, other, capture, { appid: otherMerchant.appid });
      const leaked = await observationsFrom(async () => {
        const res = await world.post(CALLBACK, c.body, c.headers);
        expect(res.status).toBe(403);
        expect(JSON.parse(res.text).message).toContain('mchid');
      });
      expect(leaked).toBe(0);
    } finally {
      await other.close();
    }
  });
});
