import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildSignedHeaders, buildV2Xml, v2Sign, type WeChatPayClient } from '@paysync/wechatpay';
import { type Captured, capturePayment, merchantClient, startCapture } from '../capture.ts';
import { API_TOKEN, API_V2_KEY, createGatewayWorld, type GatewayWorld, READ_TOKEN } from '../world.ts';

const CALLBACK = '/api/payment/wechat/callback';
let world: GatewayWorld;
let capture: Awaited<ReturnType<typeof startCapture>>;
let client: WeChatPayClient;

beforeAll(async () => {
  world = await createGatewayWorld('gw_logs', { confirmWaitMs: 300 });
  capture = await startCapture();
  client = merchantClient(world.sandbox, world.merchant);
});

afterAll(async () => {
  await client?.close();
  await capture?.close();
  await world?.close();
});

type Line = Record<string, unknown>;
const lines = (): Line[] => world.logs.map((l) => JSON.parse(l) as Line);

describe('what the gateway logs', () => {
  it('never logs a secret, key, signature, ciphertext, openid or Authorization header', async () => {
    const secrets: string[] = [];
    const openids = [`oNOTIFY${randomBytes(6).toString('hex')}`, `oJSAPI${randomBytes(6).toString('hex')}`];

    // Paid through the whole path, with the payer's openid inside the encrypted resource.
    const created = await world.api('POST', '/api/payment/orders', {
      merchant_order_no: `M${randomBytes(6).toString('hex')}`,
      user_id: 'u-log',
      amount_fen: 500,
      points: 500,
      trade_type: 'NATIVE',
      description: 'log scan',
    });
    world.sandbox.pay(created.json.out_trade_no, { openid: openids[0] });
    await world.sandbox.idle();
    // A JSAPI order: the openid travels to WeChat, the paySign back to the caller.
    const jsapi = await world.api('POST', '/api/payment/orders', {
      merchant_order_no: `M${randomBytes(6).toString('hex')}`,
      user_id: 'u-log',
      amount_fen: 500,
      points: 500,
      trade_type: 'JSAPI',
      openid: openids[1],
      description: 'log scan',
    });
    secrets.push(jsapi.json.payment.jsapi.paySign);
    await world.api(
      'GET',
      `/api/payment/orders/${created.json.out_trade_no}?confirm=true`,
      undefined,
      READ_TOKEN,
    );
    await world.api('POST', '/api/payment/orders', { merchant_order_no: 'bad', openid: openids[1] });
    await world.api(
      'GET',
      '/api/payment/orders/RCNOSUCHORDER000001',
      undefined,
      'wrong-token-but-still-secret-000',
    );
    secrets.push('wrong-token-but-still-secret-000');

    // Genuine, forged, probed and tampered notifications.
    const genuine: Captured = await capturePayment(world.sandbox, client, capture, {
      appid: world.merchant.appid,
    });
    await world.post(CALLBACK, genuine.body, genuine.headers);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = buildSignedHeaders({
      privateKey,
      serial: genuine.headers['wechatpay-serial'] as string,
      body: genuine.body,
      timestamp: Math.floor(Date.now() / 1000),
    });
    await world.post(CALLBACK, genuine.body, { ...forged, 'content-type': 'application/json' });
    world.sandbox.setFaults({ probeNextNotifications: 1 });
    const probe = await capturePayment(world.sandbox, client, capture, { appid: world.merchant.appid });
    world.sandbox.resetFaults();
    await world.post(CALLBACK, probe.body, probe.headers);
    await world.post(CALLBACK, genuine.body.replace('"id":"', '"id":"Z'), genuine.headers);
    secrets.push(
      genuine.headers['wechatpay-signature'] as string,
      forged['Wechatpay-Signature'] as string,
      probe.headers['wechatpay-signature'] as string,
    );

    // APIv2, whose XML carries the openid in clear and the sign.
    const fields: Record<string, string> = {
      appid: world.merchant.appid,
      mch_id: world.merchant.mchid,
      nonce_str: 'n1',
      return_code: 'SUCCESS',
      result_code: 'SUCCESS',
      out_trade_no: created.json.out_trade_no,
      transaction_id: `4200${Date.now()}`,
      total_fee: '500',
      openid: openids[0] as string,
    };
    const sign = v2Sign(fields, API_V2_KEY, 'HMAC-SHA256');
    await world.post('/api/payment/wechat/callback/v2', buildV2Xml({ ...fields, sign }), {
      'content-type': 'text/xml',
    });
    secrets.push(sign);

    // A prepay that fails logs its error.
    world.sandbox.setFaults({ down: true });
    await world.api('POST', '/api/payment/orders', {
      merchant_order_no: `M${randomBytes(6).toString('hex')}`,
      user_id: 'u-log',
      amount_fen: 500,
      points: 500,
      trade_type: 'JSAPI',
      openid: openids[1],
      description: 'log scan',
    });
    world.sandbox.resetFaults();

    for (const record of world.sandbox.notifications()) {
      secrets.push((JSON.parse(record.body) as { resource: { ciphertext: string } }).resource.ciphertext);
    }
    const pemLines = world.merchant.privateKeyPem.split('\n').filter((l) => l.length > 40);
    secrets.push(
      ...openids,
      API_TOKEN,
      READ_TOKEN,
      API_V2_KEY,
      world.merchant.apiV3Key,
      ...pemLines,
      `Bearer ${API_TOKEN}`,
    );

    const text = world.logs.join('\n');
    // What was logged: every notification above, and the failed prepay with its error.
    expect(lines().filter((l) => l.msg === 'notification')).toHaveLength(6);
    expect(lines().some((l) => String(l.msg).startsWith('prepay failed') && l.error !== undefined)).toBe(
      true,
    );
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(8);
      if (text.includes(secret))
        throw new Error(`a log line contains a secret beginning ${secret.slice(0, 6)}…`);
    }
    expect(text).not.toMatch(/bearer/i);
    expect(text).not.toMatch(/"authorization"/i);
    expect(text).not.toMatch(/wechatpay-signature/i);
    expect(text).not.toContain('BEGIN PRIVATE KEY');
  });

  it('writes one line per notification with its ids, outcome and latency', async () => {
    const before = world.logs.length;
    const c = await capturePayment(world.sandbox, client, capture, { appid: world.merchant.appid });
    await world.post(CALLBACK, c.body, c.headers);
    const line = lines()
      .slice(before)
      .filter((l) => l.msg === 'notification');
    expect(line).toHaveLength(1);
    const notificationId = (JSON.parse(c.body) as { id: string }).id;
    expect(line[0]).toMatchObject({
      api: 'v3',
      outcome: 'acknowledged',
      status: 204,
      notification_id: notificationId,
      out_trade_no: c.outTradeNo,
      serial: c.headers['wechatpay-serial'],
      wechat_request_id: c.headers['request-id'],
      event_type: 'TRANSACTION.SUCCESS',
    });
    expect(typeof line[0]?.latency_ms).toBe('number');
    expect(Object.keys(line[0] ?? {})).not.toContain('headers');
  });
});

afterAll(() => {
  if (process.env.PRINT_GATEWAY_LOGS) console.log(world.logs.join(''));
});
