import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { checkInvariants, eventually } from '@paysync/testkit';
import { buildV2Xml, V2_SUCCESS_REPLY, v2Sign } from '@paysync/wechatpay';
import { CALLBACK_V2_PATH } from '../../src/index.ts';
import { API_V2_KEY, createGatewayWorld, createNativeOrder, type GatewayWorld, type Rows } from '../world.ts';

let world: GatewayWorld;

beforeAll(async () => {
  // WeChat issues its public key before it signs with it: the gateway is configured with it from the start.
  world = await createGatewayWorld('gw_notify', { sandbox: { keyMode: 'both' } });
  await world.startLedger();
});

afterAll(async () => {
  await world?.close();
});

const paidAtWeChat = (w: GatewayWorld, nos: string[]) =>
  nos.map((no) => {
    const o = w.sandbox.order(no);
    return {
      outTradeNo: no,
      transactionId: o.transaction_id as string,
      amountTotal: o.amount.total,
      mchid: o.mchid,
      appid: o.appid,
    };
  });

describe('APIv3 notifications through the gateway', () => {
  it('turns each paid order’s notification into exactly one observation, and every order settles', async () => {
    const nos = await Promise.all(Array.from({ length: 12 }, () => createNativeOrder(world)));
    const before = await world.topicCount();
    for (const no of nos) world.sandbox.pay(no, { openid: 'oPAYER_should_never_travel_0001' });
    await world.sandbox.idle();

    for (const no of nos) {
      const [record] = world.sandbox.notifications({ outTradeNo: no });
      expect(record?.state).toBe('delivered');
      expect(record?.attempts.map((a) => a.status)).toEqual([204]);
    }
    expect((await world.topicCount()) - before).toBe(nos.length);
    const observations = await world.collected();
    for (const no of nos) {
      const mine = observations.filter((o) => o.outTradeNo === no);
      expect(mine).toHaveLength(1);
      const wechat = world.sandbox.order(no);
      expect(mine[0]).toMatchObject({
        source: 'notification',
        producer: 'callback-gateway',
        mchid: world.merchant.mchid,
        appid: world.merchant.appid,
        tradeState: 'SUCCESS',
        transactionId: wechat.transaction_id,
        amount: { total: 1000, currency: 'CNY' },
        notificationId: world.sandbox.notifications({ outTradeNo: no })[0]?.id,
      });
      expect(JSON.stringify(mine[0])).not.toContain('oPAYER');
    }

    await world.waitUntilLedgerConsumed();
    const report = await checkInvariants(world.pool, { paidAtWeChat: paidAtWeChat(world, nos) });
    expect(report.violations).toEqual([]);
  });

  it('acknowledges duplicated notifications, publishes each, and the ledger settles once', async () => {
    world.sandbox.setFaults({ duplicateNotificationShare: 1, duplicateCopies: 2, duplicateGapMs: 5 });
    try {
      const nos = await Promise.all(Array.from({ length: 5 }, () => createNativeOrder(world)));
      for (const no of nos) world.sandbox.pay(no);
      await world.sandbox.idle();
      const observations = await world.collected();
      for (const no of nos) {
        const attempts = world.sandbox.notifications({ outTradeNo: no })[0]?.attempts ?? [];
        expect(attempts.map((a) => [a.duplicate, a.status])).toEqual([
          [false, 204],
          [true, 204],
          [true, 204],
        ]);
        expect(observations.filter((o) => o.outTradeNo === no)).toHaveLength(3);
      }
      await world.waitUntilLedgerConsumed();
      const [rows] = await world.pool.query<Rows>(
        `SELECT out_trade_no, COUNT(*) AS n FROM point_transactions WHERE out_trade_no IN (?) GROUP BY out_trade_no`,
        [nos],
      );
      expect(rows.map((r) => Number(r.n))).toEqual(nos.map(() => 1));
      expect(
        (await checkInvariants(world.pool, { paidAtWeChat: paidAtWeChat(world, nos) })).violations,
      ).toEqual([]);
    } finally {
      world.sandbox.resetFaults();
    }
  });

  it('publishes a refund notification as a REFUND observation the ledger applies', async () => {
    const no = await createNativeOrder(world);
    world.sandbox.pay(no);
    await world.sandbox.idle();
    const refund = world.sandbox.refund(no, { amount: 1000, outRefundNo: `RF${no}`.slice(0, 32) });
    await world.sandbox.idle();
    const observations = await world.collected();
    const refundObs = observations.find((o) => o.outTradeNo === no && o.refund !== undefined);
    expect(refundObs).toMatchObject({
      tradeState: 'REFUND',
      source: 'notification',
      refund: {
        outRefundNo: refund.out_refund_no,
        refundStatus: 'SUCCESS',
        amount: { refund: 1000, total: 1000 },
      },
    });
    expect(refundObs?.appid).toBeUndefined();
    await world.waitUntilLedgerConsumed();
    const status = await eventually('the order to be refunded', async () => {
      const [[row]] = await world.pool.query<Rows>(
        'SELECT status FROM payment_orders WHERE out_trade_no = ?',
        [no],
      );
      return row?.status === 'refunded' ? row.status : undefined;
    });
    expect(status).toBe('refunded');
  });

  it('verifies a notification signed with the WeChat Pay public key as well as with the certificate', async () => {
    const { id } = await world.sandbox.usePublicKey();
    try {
      const no = await createNativeOrder(world);
      world.sandbox.pay(no);
      await world.sandbox.idle();
      const [record] = world.sandbox.notifications({ outTradeNo: no });
      expect(record?.attempts.map((a) => [a.serial, a.status])).toEqual([[id, 204]]);
    } finally {
      world.sandbox.useCertificate();
    }
  });
});

describe('APIv2 (XML) notifications', () => {
  const v2Fields = (outTradeNo: string, overrides: Record<string, string> = {}) => {
    const fields: Record<string, string> = {
      appid: world.merchant.appid,
      mch_id: world.merchant.mchid,
      nonce_str: 'v2nonce123',
      result_code: 'SUCCESS',
      return_code: 'SUCCESS',
      out_trade_no: outTradeNo,
      transaction_id: `4200${Date.now()}`,
      total_fee: '1000',
      cash_fee: '1000',
      fee_type: 'CNY',
      time_end: '20260301102030',
      openid: 'oV2PAYER_never_logged',
      ...overrides,
    };
    return { ...fields, sign: v2Sign(fields, API_V2_KEY, 'HMAC-SHA256') };
  };

  it('answers the exact success XML only after publishing the paid order’s observation', async () => {
    const no = await createNativeOrder(world);
    const res = await world.post(CALLBACK_V2_PATH, buildV2Xml(v2Fields(no)), { 'content-type': 'text/xml' });
    expect(res.status).toBe(200);
    expect(res.text).toBe(V2_SUCCESS_REPLY);
    const observations = await world.collected();
    expect(observations.find((o) => o.outTradeNo === no)).toMatchObject({
      tradeState: 'SUCCESS',
      amount: { total: 1000, payerTotal: 1000, currency: 'CNY' },
      successTime: '2026-03-01T10:20:30+08:00',
    });
  });

  it('refuses a wrong sign with a FAIL reply and publishes nothing', async () => {
    const no = await createNativeOrder(world);
    const before = await world.topicCount();
    const fields = { ...v2Fields(no), total_fee: '1' };
    const res = await world.post(CALLBACK_V2_PATH, buildV2Xml(fields), { 'content-type': 'text/xml' });
    expect(res.status).toBe(401);
    expect(res.text).toContain('<return_code><![CDATA[FAIL]]></return_code>');
    expect(await world.topicCount()).toBe(before);
  });

  it('refuses a notification signed with another sign type than the configured HMAC-SHA256', async () => {
    const no = await createNativeOrder(world);
    const before = await world.topicCount();
    const { sign: _sign, ...fields } = v2Fields(no);
    for (const md5 of [
      { ...fields, sign: v2Sign(fields, API_V2_KEY, 'MD5') },
      { ...fields, sign_type: 'MD5', sign: v2Sign({ ...fields, sign_type: 'MD5' }, API_V2_KEY, 'MD5') },
    ]) {
      const res = await world.post(CALLBACK_V2_PATH, buildV2Xml(md5), { 'content-type': 'text/xml' });
      expect(res.status).toBe(401);
      expect(res.text).toContain('<return_code><![CDATA[FAIL]]></return_code>');
    }
    expect(await world.topicCount()).toBe(before);
  });

  it('acknowledges an unpaid APIv2 notification without publishing it', async () => {
    const no = await createNativeOrder(world);
    const before = await world.topicCount();
    const res = await world.post(CALLBACK_V2_PATH, buildV2Xml(v2Fields(no, { result_code: 'FAIL' })), {
      'content-type': 'text/xml',
    });
    expect(res.text).toBe(V2_SUCCESS_REPLY);
    expect(await world.topicCount()).toBe(before);
  });
});
