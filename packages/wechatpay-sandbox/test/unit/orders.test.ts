import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { messageSignString, rsaVerify, WeChatPayApiError, type WeChatPayClient } from '@paysync/wechatpay';
import { type Sandbox, startSandbox } from '../../src/index.ts';
import {
  clientFor,
  createNativeOrder,
  eventually,
  merchantOf,
  outTradeNo,
  type Receiver,
  startReceiver,
  staticVerifier,
} from './support.ts';

let sandbox: Sandbox;
let receiver: Receiver;
let client: WeChatPayClient;

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.0001 });
  receiver = await startReceiver();
  client = clientFor(sandbox);
  await client.start();
});

afterAll(async () => {
  await client.close();
  await sandbox.close();
  await receiver.close();
});

/** A signed call with a hand-written body, for requests the library's typed helpers refuse to send. */
async function rawPost(path: string, body: unknown): Promise<unknown> {
  return client
    .call({ operation: 'raw', method: 'POST', pathWithQuery: path, body: JSON.stringify(body), verify: true })
    .then((raw) => JSON.parse(raw.body.toString('utf8') || 'null'));
}

function prepayBody(overrides: Record<string, unknown> = {}) {
  const merchant = merchantOf(sandbox);
  return {
    appid: merchant.appid,
    mchid: merchant.mchid,
    description: 'points recharge',
    out_trade_no: outTradeNo(),
    notify_url: receiver.url,
    amount: { total: 100, currency: 'CNY' },
    ...overrides,
  };
}

async function wechatCode(promise: Promise<unknown>): Promise<[number, string | undefined]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof WeChatPayApiError)) throw new Error(`expected a WeChat API error, got ${error}`);
  return [error.status, error.wechatCode];
}

describe('prepay validation', () => {
  it('refuses an out_trade_no shorter than 6 characters with 400 PARAM_ERROR', async () => {
    const body = prepayBody({ out_trade_no: 'ABCDE' });
    expect(await wechatCode(rawPost('/v3/pay/transactions/native', body))).toEqual([400, 'PARAM_ERROR']);
  });

  it('refuses a JSAPI prepay without payer.openid', async () => {
    expect(await wechatCode(rawPost('/v3/pay/transactions/jsapi', prepayBody()))).toEqual([
      400,
      'PARAM_ERROR',
    ]);
  });

  it('refuses an appid the merchant does not own', async () => {
    const body = prepayBody({ appid: 'wx0000000000000000' });
    expect(await wechatCode(rawPost('/v3/pay/transactions/native', body))).toEqual([400, 'INVALID_REQUEST']);
  });

  it('returns the same order for a repeated request and refuses out_trade_no reused with other params', async () => {
    const body = prepayBody();
    const first = (await rawPost('/v3/pay/transactions/native', body)) as { code_url: string };
    const again = (await rawPost('/v3/pay/transactions/native', body)) as { code_url: string };
    expect(again.code_url).toBe(first.code_url);
    const changed = { ...body, amount: { total: 200, currency: 'CNY' } };
    expect(await wechatCode(rawPost('/v3/pay/transactions/native', changed))).toEqual([
      400,
      'INVALID_REQUEST',
    ]);
    sandbox.pay(body.out_trade_no);
    expect(await wechatCode(rawPost('/v3/pay/transactions/native', body))).toEqual([400, 'ORDERPAID']);
  });

  it('refuses http notify URLs when started to behave like WeChat (allowInsecureNotifyUrl false)', async () => {
    const strict = await startSandbox({ allowInsecureNotifyUrl: false });
    const strictClient = clientFor(strict);
    try {
      const error = await createNativeOrder(strictClient, strict, 'http://127.0.0.1:1/notify').catch(
        (e) => e,
      );
      expect(error).toMatchObject({ status: 400, wechatCode: 'PARAM_ERROR' });
      await expect(
        createNativeOrder(strictClient, strict, 'https://pay.example.com/notify'),
      ).resolves.toEqual(expect.any(String));
    } finally {
      await strictClient.close();
      await strict.close();
    }
  });
});

describe('authentication and response signing', () => {
  it('answers 401 SIGN_ERROR with WeChat’s JSON error body when Authorization is missing', async () => {
    const response = await fetch(`${sandbox.url}/v3/pay/transactions/out-trade-no/ABCDEF?mchid=1`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ code: 'SIGN_ERROR', message: expect.any(String) });
  });

  it('signs a 204 over the empty body', async () => {
    const no = await createNativeOrder(client, sandbox, receiver.url);
    const raw = await client.call({
      operation: 'close',
      method: 'POST',
      pathWithQuery: `/v3/pay/transactions/out-trade-no/${no}/close`,
      body: JSON.stringify({ mchid: merchantOf(sandbox).mchid }),
      verify: false,
    });
    expect(raw.status).toBe(204);
    expect(raw.body).toHaveLength(0);
    const headers = raw.headers as Record<string, string>;
    const cert = sandbox.keys().certificates.find((c) => c.serialNo === headers['wechatpay-serial']);
    const message = messageSignString(
      headers['wechatpay-timestamp'] as string,
      headers['wechatpay-nonce'] as string,
      '',
    );
    expect(rsaVerify(cert?.certificatePem as string, message, headers['wechatpay-signature'] as string)).toBe(
      true,
    );
    expect(headers['request-id']).toBeTruthy();
  });

  it('signs responses with the public key when asked to, and hides certificates in public-key-only mode', async () => {
    const pk = await startSandbox({ keyMode: 'publicKey' });
    const publicKey = pk.keys().publicKey;
    if (!publicKey) throw new Error('public-key mode has a key');
    const pkClient = clientFor(pk, { publicKey: { id: publicKey.id, key: publicKey.publicKeyPem } });
    try {
      await pkClient.start();
      expect(await wechatCode(pkClient.downloadCertificates())).toEqual([404, 'RESOURCE_NOT_EXISTS']);
      const no = await createNativeOrder(pkClient, pk, receiver.url);
      await expect(pkClient.queryByOutTradeNo(no)).resolves.toMatchObject({ trade_state: 'NOTPAY' });
      expect(pk.keys()).toMatchObject({ certificatesServed: false, notificationSigner: 'publicKey' });
    } finally {
      await pkClient.close();
      await pk.close();
    }
  });
});

describe('order states', () => {
  it('moves an order through USERPAYING to PAYERROR without notifying', async () => {
    const no = await createNativeOrder(client, sandbox, receiver.url);
    sandbox.userPaying(no);
    expect((await client.queryByOutTradeNo(no)).trade_state).toBe('USERPAYING');
    sandbox.fail(no);
    expect((await client.queryByOutTradeNo(no)).trade_state).toBe('PAYERROR');
    await sandbox.idle();
    expect(sandbox.notifications({ outTradeNo: no })).toEqual([]);
  });

  it('refunds through the API: PROCESSING, then REFUND.SUCCESS notified, trade_state REFUND', async () => {
    const no = await createNativeOrder(client, sandbox, receiver.url, { amountTotal: 1000 });
    sandbox.pay(no);
    const refund = (await rawPost('/v3/refund/domestic/refunds', {
      out_trade_no: no,
      out_refund_no: `RF${no}`.slice(0, 32),
      amount: { refund: 400, total: 1000, currency: 'CNY' },
    })) as Record<string, unknown>;
    expect(refund).toMatchObject({ status: 'PROCESSING', amount: { refund: 400, total: 1000 } });
    await sandbox.idle();

    expect((await client.queryByOutTradeNo(no)).trade_state).toBe('REFUND');
    const records = sandbox.notifications({ outTradeNo: no });
    expect(records.map((r) => r.eventType)).toEqual(['TRANSACTION.SUCCESS', 'REFUND.SUCCESS']);
    const delivery = receiver.received.find((r) => r.body.toString('utf8') === records[1]?.body);
    if (!delivery) throw new Error('refund notification not received');
    const verified = await staticVerifier(sandbox).verify(delivery);
    expect(verified.kind).toBe('refund');
    if (verified.kind === 'refund') {
      expect(verified.refund).toMatchObject({
        out_trade_no: no,
        refund_status: 'SUCCESS',
        amount: { refund: 400 },
      });
    }
    const queried = await client.call({
      operation: 'refund_query',
      method: 'GET',
      pathWithQuery: `/v3/refund/domestic/refunds/${refund.out_refund_no}`,
      verify: true,
    });
    expect(JSON.parse(queried.body.toString('utf8'))).toMatchObject({ status: 'SUCCESS' });
    const tooMuch = rawPost('/v3/refund/domestic/refunds', {
      out_trade_no: no,
      out_refund_no: `RX${no}`.slice(0, 32),
      amount: { refund: 700, total: 1000, currency: 'CNY' },
    });
    // More than is left is INVALID_REQUEST; NOT_ENOUGH is WeChat's "merchant balance too low".
    expect(await wechatCode(tooMuch)).toEqual([400, 'INVALID_REQUEST']);
  });

  it('notifies REFUND.ABNORMAL when a refund is made abnormal through the control functions', async () => {
    const no = await createNativeOrder(client, sandbox, receiver.url);
    sandbox.pay(no);
    const refund = sandbox.refund(no, { status: 'ABNORMAL' });
    expect(refund.refund_status).toBe('PROCESSING');
    await sandbox.idle();
    expect(sandbox.notifications({ outTradeNo: no }).map((r) => r.eventType)).toEqual([
      'TRANSACTION.SUCCESS',
      'REFUND.ABNORMAL',
    ]);
  });
  it('waits in idle() for a refund that settles later, then for its notification', async () => {
    const delayed = await startSandbox({ refundDelayMs: 50 });
    const delayedClient = clientFor(delayed);
    try {
      const no = await createNativeOrder(delayedClient, delayed, receiver.url);
      delayed.pay(no);
      delayed.refund(no);
      await delayed.idle();
      const records = delayed.notifications({ outTradeNo: no });
      expect(records.map((r) => [r.eventType, r.state])).toEqual([
        ['TRANSACTION.SUCCESS', 'delivered'],
        ['REFUND.SUCCESS', 'delivered'],
      ]);
    } finally {
      await delayedClient.close();
      await delayed.close();
    }
  });
});

describe('notification faults', () => {
  it('drops every notification at share 1: nothing is delivered or retried', async () => {
    sandbox.setFaults({ dropNotificationShare: 1 });
    try {
      const before = receiver.received.length;
      const no = await createNativeOrder(client, sandbox, receiver.url);
      sandbox.pay(no);
      await sandbox.idle();
      const [record] = sandbox.notifications({ outTradeNo: no });
      expect(record?.state).toBe('dropped');
      expect(receiver.received.length).toBe(before);
    } finally {
      sandbox.resetFaults();
    }
  });

  it('drops the same notifications for the same seed', async () => {
    const pattern = async () => {
      const seeded = await startSandbox({ seed: 42, faults: { dropNotificationShare: 0.5 } });
      const seededClient = clientFor(seeded);
      try {
        const states: string[] = [];
        for (let i = 0; i < 12; i++) {
          const no = await createNativeOrder(seededClient, seeded, receiver.url);
          seeded.pay(no);
          await seeded.idle();
          states.push(seeded.notifications({ outTradeNo: no })[0]?.state ?? 'none');
        }
        return states;
      } finally {
        await seededClient.close();
        await seeded.close();
      }
    };
    const first = await pattern();
    expect(first).toContain('dropped');
    expect(first).toContain('delivered');
    expect(await pattern()).toEqual(first);
  });

  it('duplicates an acknowledged notification with the same id', async () => {
    sandbox.setFaults({ duplicateNotificationShare: 1, duplicateCopies: 2, duplicateGapMs: 1 });
    try {
      const before = receiver.received.length;
      const no = await createNativeOrder(client, sandbox, receiver.url);
      sandbox.pay(no);
      await sandbox.idle();
      const deliveries = receiver.received.slice(before);
      expect(deliveries).toHaveLength(3);
      expect(new Set(deliveries.map((d) => JSON.parse(d.body.toString('utf8')).id)).size).toBe(1);
      const verifier = staticVerifier(sandbox);
      for (const d of deliveries)
        await expect(verifier.verify(d)).resolves.toMatchObject({ kind: 'transaction' });
      expect(sandbox.notifications({ outTradeNo: no })[0]?.attempts.filter((a) => a.duplicate)).toHaveLength(
        2,
      );
    } finally {
      sandbox.resetFaults();
    }
  });

  it('signs each retry with the key current at that moment', async () => {
    // First retry after 15 s × 0.05 = 750 ms: time enough to activate the new certificate in between.
    const slow = await startSandbox({ timeScale: 0.05 });
    const slowClient = clientFor(slow);
    const flaky = await startReceiver((index) => (index === 0 ? 500 : 204));
    try {
      const oldSerial = slow.keys().signingSerial;
      const next = await slow.rotateCertificate({ activate: 'manual' });
      const no = await createNativeOrder(slowClient, slow, flaky.url);
      slow.pay(no);
      await eventually(() => flaky.received.length === 1, 'the first delivery');
      slow.activateCertificate(next.serialNo);
      await slow.idle();
      expect(flaky.received.map((r) => r.headers['wechatpay-serial'])).toEqual([oldSerial, next.serialNo]);
      const verifier = staticVerifier(slow);
      for (const r of flaky.received)
        await expect(verifier.verify(r)).resolves.toMatchObject({ kind: 'transaction' });
    } finally {
      await slowClient.close();
      await slow.close();
      await flaky.close();
    }
  });
});
