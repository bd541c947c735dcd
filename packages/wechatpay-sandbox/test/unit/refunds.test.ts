import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { messageSignString, rsaVerify, signRequest, type WeChatPayClient } from '@paysync/wechatpay';
import { MAX_REFUNDS_PER_ORDER, type Sandbox, startSandbox } from '../../src/index.ts';
import {
  clientFor,
  createNativeOrder,
  merchantOf,
  outTradeNo,
  type Receiver,
  startReceiver,
  staticVerifier,
} from './support.ts';

const REFUNDS = '/v3/refund/domestic/refunds';
const CREATE_ROUTE = `POST ${REFUNDS}`;

/** Exactly the fields of WeChat's refund answer (create, query, apply-abnormal-refund). */
const ANSWER_FIELDS = [
  'amount',
  'channel',
  'create_time',
  'funds_account',
  'out_refund_no',
  'out_trade_no',
  'promotion_detail',
  'refund_id',
  'status',
  'transaction_id',
  'user_received_account',
];
const ANSWER_AMOUNT_FIELDS = [
  'currency',
  'discount_refund',
  'payer_refund',
  'payer_total',
  'refund',
  'settlement_refund',
  'settlement_total',
  'total',
];
/** Exactly the fields of a decrypted REFUND.* notification resource. */
const NOTIFICATION_FIELDS = [
  'amount',
  'mchid',
  'out_refund_no',
  'out_trade_no',
  'refund_id',
  'refund_status',
  'transaction_id',
  'user_received_account',
];
const BEIJING = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/;

let sandbox: Sandbox;
let receiver: Receiver;
let client: WeChatPayClient;

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.0001 });
  receiver = await startReceiver();
  client = clientFor(sandbox);
  await client.start();
});

afterEach(() => {
  sandbox.resetFaults();
});

afterAll(async () => {
  await client.close();
  await sandbox.close();
  await receiver.close();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
  json: any;
}

/** One signed request exactly as the merchant sends it, no retries: the raw answer, headers included. */
async function signedCall(method: 'GET' | 'POST', path: string, body?: unknown, target = sandbox) {
  const merchant = merchantOf(target);
  const text = body === undefined ? '' : JSON.stringify(body);
  const authorization = signRequest({
    mchid: merchant.mchid,
    serialNo: merchant.certificateSerial,
    privateKey: merchant.privateKey,
    method,
    pathWithQuery: path,
    body: text,
  });
  const response = await fetch(`${target.url}${path}`, {
    method,
    headers: {
      authorization,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: text }),
  });
  const answer = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text: answer,
    json: answer ? JSON.parse(answer) : undefined,
  } as Answer;
}

/** True when the answer carries Wechatpay-* headers whose signature verifies with the platform key. */
function signedByPlatform(answer: Answer, target = sandbox): boolean {
  const serial = answer.headers.get('wechatpay-serial');
  const signature = answer.headers.get('wechatpay-signature');
  const timestamp = answer.headers.get('wechatpay-timestamp');
  const nonce = answer.headers.get('wechatpay-nonce');
  if (!serial || !signature || !timestamp || !nonce) return false;
  const cert = target.keys().certificates.find((c) => c.serialNo === serial);
  if (!cert) return false;
  return rsaVerify(cert.certificatePem, messageSignString(timestamp, nonce, answer.text), signature);
}

const create = (body: unknown) => signedCall('POST', REFUNDS, body);
const query = (outRefundNo: string) => signedCall('GET', `${REFUNDS}/${outRefundNo}`);

let refundSeq = 0;
function refundNo(prefix = 'RF'): string {
  refundSeq += 1;
  return `${prefix}${Date.now().toString(36)}_${refundSeq}`;
}

function refundBody(no: string, outRefundNo: string, refund: number, total = 1000) {
  return { out_trade_no: no, out_refund_no: outRefundNo, amount: { refund, total, currency: 'CNY' } };
}

async function paidOrder(total = 1000): Promise<string> {
  const no = await createNativeOrder(client, sandbox, receiver.url, { amountTotal: total });
  sandbox.pay(no);
  return no;
}

/** The REFUND.* notifications of an order, as recorded. */
function refundNotifications(no: string) {
  return sandbox.notifications({ outTradeNo: no }).filter((r) => r.eventType.startsWith('REFUND.'));
}

/** The decrypted resource of a refund notification the receiver got, verified by the library. */
async function deliveredRefund(body: string) {
  const delivery = receiver.received.find((r) => r.body.toString('utf8') === body);
  if (!delivery) throw new Error('refund notification not received');
  const verified = await staticVerifier(sandbox).verify(delivery);
  if (verified.kind !== 'refund') throw new Error(`expected a refund notification, got ${verified.kind}`);
  return verified.refund as Record<string, unknown> & { amount: Record<string, unknown> };
}

async function expectError(answer: Promise<Answer>, status: number, code: string): Promise<Answer> {
  const got = await answer;
  expect({ status: got.status, code: got.json?.code }).toEqual({ status, code });
  // WeChat's error body: code and message, and for PARAM_ERROR a `detail` saying which field.
  expect(got.json).toEqual({
    code,
    message: expect.any(String),
    ...(got.json?.detail === undefined ? {} : { detail: expect.any(Array) }),
  });
  return got;
}

describe('refund create: the answer', () => {
  it('accepts a refund: a signed 200 with exactly WeChat’s fields, PROCESSING, then SUCCESS notified', async () => {
    const no = await paidOrder(1000);
    const outRefundNo = refundNo();
    const answer = await create({ ...refundBody(no, outRefundNo, 400), reason: '用户申请退款' });
    expect(answer.status).toBe(200);
    expect(signedByPlatform(answer)).toBe(true);
    expect(answer.headers.get('request-id')).toBeTruthy();
    expect(Object.keys(answer.json).sort()).toEqual(ANSWER_FIELDS);
    expect(Object.keys(answer.json.amount).sort()).toEqual(ANSWER_AMOUNT_FIELDS);
    const order = sandbox.order(no);
    expect(answer.json).toEqual({
      refund_id: expect.stringMatching(/^\d{29}$/),
      out_refund_no: outRefundNo,
      transaction_id: order.transaction_id,
      out_trade_no: no,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      create_time: expect.stringMatching(BEIJING),
      status: 'PROCESSING',
      funds_account: 'AVAILABLE',
      amount: {
        total: 1000,
        refund: 400,
        payer_total: 1000,
        payer_refund: 400,
        settlement_refund: 400,
        settlement_total: 1000,
        discount_refund: 0,
        currency: 'CNY',
      },
      promotion_detail: [],
    });
    // The order is REFUND from the moment the refund is accepted.
    expect(order.trade_state).toBe('REFUND');

    await sandbox.idle();
    const queried = await query(outRefundNo);
    expect(queried.status).toBe(200);
    expect(signedByPlatform(queried)).toBe(true);
    expect(Object.keys(queried.json).sort()).toEqual([...ANSWER_FIELDS, 'success_time'].sort());
    expect(queried.json).toMatchObject({
      refund_id: answer.json.refund_id,
      status: 'SUCCESS',
      success_time: expect.stringMatching(BEIJING),
    });

    const [record] = refundNotifications(no);
    expect(record).toMatchObject({ eventType: 'REFUND.SUCCESS', outRefundNo, state: 'delivered' });
    const resource = await deliveredRefund(record?.body as string);
    expect(Object.keys(resource).sort()).toEqual([...NOTIFICATION_FIELDS, 'success_time'].sort());
    expect(Object.keys(resource.amount).sort()).toEqual(['payer_refund', 'payer_total', 'refund', 'total']);
    expect(resource).toEqual({
      mchid: merchantOf(sandbox).mchid,
      out_trade_no: no,
      transaction_id: order.transaction_id,
      out_refund_no: outRefundNo,
      refund_id: answer.json.refund_id,
      refund_status: 'SUCCESS',
      success_time: queried.json.success_time,
      user_received_account: '支付用户零钱',
      amount: { total: 1000, refund: 400, payer_total: 1000, payer_refund: 400 },
    });
  });

  it('refunds by transaction_id as well', async () => {
    const no = await paidOrder(500);
    const { transaction_id } = sandbox.order(no);
    const answer = await create({
      transaction_id,
      out_refund_no: refundNo(),
      amount: { refund: 500, total: 500, currency: 'CNY' },
    });
    expect(answer.json).toMatchObject({ status: 'PROCESSING', out_trade_no: no });
  });

  it('answers the same refund to the same out_refund_no, order and amount: it refunds once', async () => {
    const no = await paidOrder(1000);
    const outRefundNo = refundNo();
    const first = await create(refundBody(no, outRefundNo, 300));
    const again = await create(refundBody(no, outRefundNo, 300));
    expect(again.status).toBe(200);
    expect(signedByPlatform(again)).toBe(true);
    expect(again.json.refund_id).toBe(first.json.refund_id);
    await sandbox.idle();
    // Asked again once it succeeded: still the same refund, now SUCCESS.
    const late = await create(refundBody(no, outRefundNo, 300));
    expect(late.json).toMatchObject({ refund_id: first.json.refund_id, status: 'SUCCESS' });
    expect(sandbox.order(no).refunds).toHaveLength(1);
    expect(refundNotifications(no).map((r) => r.eventType)).toEqual(['REFUND.SUCCESS']);
  });

  it('refuses the same out_refund_no with another amount or for another order (400 INVALID_REQUEST)', async () => {
    const no = await paidOrder(1000);
    const other = await paidOrder(1000);
    const outRefundNo = refundNo();
    await create(refundBody(no, outRefundNo, 300));
    const changed = await expectError(create(refundBody(no, outRefundNo, 301)), 400, 'INVALID_REQUEST');
    expect(signedByPlatform(changed)).toBe(true);
    await expectError(create(refundBody(other, outRefundNo, 300)), 400, 'INVALID_REQUEST');
    expect(sandbox.order(other).refunds).toHaveLength(0);
    expect(sandbox.order(other).trade_state).toBe('SUCCESS');
  });

  it('refuses more than the refundable remainder with 400 INVALID_REQUEST, never NOT_ENOUGH', async () => {
    const no = await paidOrder(1000);
    await create(refundBody(no, refundNo(), 600));
    const over = await expectError(create(refundBody(no, refundNo(), 401)), 400, 'INVALID_REQUEST');
    expect(over.json.message).toContain('可退金额');
    expect(signedByPlatform(over)).toBe(true);
    expect((await create(refundBody(no, refundNo(), 400))).status).toBe(200);
    await expectError(create(refundBody(no, refundNo(), 1)), 400, 'INVALID_REQUEST');
    expect(sandbox.order(no).refunds.map((r) => r.amount.refund)).toEqual([600, 400]);
  });

  it('counts a refund from its acceptance (PROCESSING) and gives a CLOSED one’s amount back', async () => {
    sandbox.setFaults({ refundOutcome: 'PROCESSING' });
    const no = await paidOrder(1000);
    const open = refundNo();
    await create(refundBody(no, open, 700));
    await sandbox.idle();
    expect((await query(open)).json.status).toBe('PROCESSING');
    await expectError(create(refundBody(no, refundNo(), 301)), 400, 'INVALID_REQUEST');
    sandbox.settleRefund(open, { status: 'CLOSED' });
    expect((await create(refundBody(no, refundNo(), 1000))).status).toBe(200);
  });

  it('refuses amount.total other than the order total (400 INVALID_REQUEST)', async () => {
    const no = await paidOrder(1000);
    await expectError(create(refundBody(no, refundNo(), 100, 999)), 400, 'INVALID_REQUEST');
  });

  it('answers 404 RESOURCE_NOT_EXISTS for an unknown order and for one not paid (no transaction to refund)', async () => {
    const unknown = await expectError(
      create(refundBody(outTradeNo('NOPE'), refundNo(), 100)),
      404,
      'RESOURCE_NOT_EXISTS',
    );
    expect(signedByPlatform(unknown)).toBe(true);
    await expectError(
      create({
        transaction_id: '4200000000202401010000000000',
        out_refund_no: refundNo(),
        amount: { refund: 100, total: 1000, currency: 'CNY' },
      }),
      404,
      'RESOURCE_NOT_EXISTS',
    );
    const unpaid = await createNativeOrder(client, sandbox, receiver.url, { amountTotal: 1000 });
    await expectError(create(refundBody(unpaid, refundNo(), 100)), 404, 'RESOURCE_NOT_EXISTS');
    await client.closeOrder(unpaid);
    await expectError(create(refundBody(unpaid, refundNo(), 100)), 404, 'RESOURCE_NOT_EXISTS');
    const failed = await createNativeOrder(client, sandbox, receiver.url, { amountTotal: 1000 });
    sandbox.fail(failed);
    await expectError(create(refundBody(failed, refundNo(), 100)), 404, 'RESOURCE_NOT_EXISTS');
    expect(sandbox.order(unpaid)).toMatchObject({ trade_state: 'CLOSED', refunds: [] });
  });

  it('checks out_refund_no (1–64 of [0-9A-Za-z_-|*@]) and the amount (≥ 1) with 400 PARAM_ERROR', async () => {
    const no = await paidOrder(1000);
    for (const bad of ['', 'has space', 'RF#1', 'RF.1', 'R'.repeat(65), '退款1']) {
      const answer = await expectError(create(refundBody(no, bad, 100)), 400, 'PARAM_ERROR');
      expect(signedByPlatform(answer)).toBe(true);
    }
    for (const amount of [0, -1, 1.5]) {
      await expectError(create(refundBody(no, refundNo(), amount)), 400, 'PARAM_ERROR');
    }
    const odd = `R-_|*@${'9'.repeat(58)}`;
    expect(odd).toHaveLength(64);
    expect((await create(refundBody(no, odd, 100))).json).toMatchObject({ out_refund_no: odd });
    expect((await query(odd)).json).toMatchObject({ out_refund_no: odd, amount: { refund: 100 } });
  });

  it(`refuses refund number ${MAX_REFUNDS_PER_ORDER + 1} of one order with 400 INVALID_REQUEST (count limit)`, async () => {
    sandbox.setFaults({ refundOutcome: 'PROCESSING' });
    const no = await paidOrder(100);
    const numbers: string[] = [];
    for (let i = 0; i < MAX_REFUNDS_PER_ORDER; i++) {
      numbers.push(refundNo('LIM'));
      expect((await create(refundBody(no, numbers[i] as string, 1, 100))).status).toBe(200);
    }
    const over = await expectError(create(refundBody(no, refundNo('LIM'), 1, 100)), 400, 'INVALID_REQUEST');
    expect(over.json.message).toMatch(/退款次数.*50/);
    // A retry of an accepted refund is still answered with that refund.
    expect((await create(refundBody(no, numbers[49] as string, 1, 100))).status).toBe(200);
    // CLOSED refunds count too: the limit is on refunds made, not on money.
    sandbox.settleRefund(numbers[0] as string, { status: 'CLOSED' });
    await expectError(create(refundBody(no, refundNo('LIM'), 1, 100)), 400, 'INVALID_REQUEST');
    expect(sandbox.order(no).refunds).toHaveLength(MAX_REFUNDS_PER_ORDER);
  });

  it('answers a query for an unknown out_refund_no with 404 RESOURCE_NOT_EXISTS, signed', async () => {
    const answer = await expectError(query(refundNo('NONE')), 404, 'RESOURCE_NOT_EXISTS');
    expect(signedByPlatform(answer)).toBe(true);
  });
});

describe('refund faults', () => {
  it('refundNotEnoughNext: 403 NOT_ENOUGH, nothing created; the same out_refund_no later succeeds', async () => {
    const no = await paidOrder(1000);
    const outRefundNo = refundNo();
    sandbox.setFaults({ refundNotEnoughNext: 1 });
    // A request refused for its own reasons does not use the fault up.
    await expectError(create(refundBody(no, refundNo(), 1001)), 400, 'INVALID_REQUEST');
    expect(sandbox.faults().refundNotEnoughNext).toBe(1);

    const refused = await expectError(create(refundBody(no, outRefundNo, 500)), 403, 'NOT_ENOUGH');
    expect(refused.json.message).toContain('余额不足');
    expect(signedByPlatform(refused)).toBe(true);
    expect(sandbox.faults().refundNotEnoughNext).toBe(0);
    expect(sandbox.counters().faults.refundNotEnough).toBeGreaterThanOrEqual(1);
    await expectError(query(outRefundNo), 404, 'RESOURCE_NOT_EXISTS');
    expect(sandbox.order(no)).toMatchObject({ trade_state: 'SUCCESS', refunds: [] });

    const retried = await create(refundBody(no, outRefundNo, 500));
    expect(retried.json).toMatchObject({ out_refund_no: outRefundNo, status: 'PROCESSING' });
    await sandbox.idle();
    expect(refundNotifications(no).map((r) => r.eventType)).toEqual(['REFUND.SUCCESS']);
  });

  it('refundSystemErrorNext: a signed 500 SYSTEM_ERROR, nothing created; the retry succeeds', async () => {
    const no = await paidOrder(1000);
    const outRefundNo = refundNo();
    sandbox.setFaults({ refundSystemErrorNext: 1 });
    const failed = await expectError(create(refundBody(no, outRefundNo, 500)), 500, 'SYSTEM_ERROR');
    expect(signedByPlatform(failed)).toBe(true);
    expect(sandbox.order(no).refunds).toHaveLength(0);
    await expectError(query(outRefundNo), 404, 'RESOURCE_NOT_EXISTS');
    expect((await create(refundBody(no, outRefundNo, 500))).json.status).toBe('PROCESSING');
    expect(sandbox.order(no).refunds).toHaveLength(1);
  });

  it('loseNextRefundAnswers: accepted but answered an unsigned 500; the same number returns the same refund', async () => {
    const no = await paidOrder(1000);
    const outRefundNo = refundNo();
    sandbox.setFaults({ loseNextRefundAnswers: 1 });
    const lost = await expectError(create(refundBody(no, outRefundNo, 600)), 500, 'SYSTEM_ERROR');
    expect(lost.headers.get('wechatpay-signature')).toBeNull();
    expect(lost.headers.get('wechatpay-serial')).toBeNull();
    // WeChat has it all the same.
    const accepted = sandbox.getRefund(outRefundNo);
    expect(accepted).toMatchObject({ out_trade_no: no, amount: { refund: 600 }, source: 'api' });
    expect((await query(outRefundNo)).json.refund_id).toBe(accepted.refund_id);

    const retried = await create(refundBody(no, outRefundNo, 600));
    expect(retried.status).toBe(200);
    expect(signedByPlatform(retried)).toBe(true);
    expect(retried.json.refund_id).toBe(accepted.refund_id);
    await sandbox.idle();
    // The money moved once: one refund, one notification, 400 left.
    expect(sandbox.order(no).refunds).toHaveLength(1);
    expect(refundNotifications(no).map((r) => r.eventType)).toEqual(['REFUND.SUCCESS']);
    await expectError(create(refundBody(no, refundNo(), 401)), 400, 'INVALID_REQUEST');
    expect((await create(refundBody(no, refundNo(), 400))).status).toBe(200);
  });

  it('loseNextRefundAnswers through the library client: its retry of the 500 gets the refund, created once', async () => {
    const no = await paidOrder(1000);
    const outRefundNo = refundNo();
    sandbox.setFaults({ loseNextRefundAnswers: 1 });
    const before = sandbox.counters();
    const raw = await client.call({
      operation: 'refund',
      method: 'POST',
      pathWithQuery: REFUNDS,
      body: JSON.stringify(refundBody(no, outRefundNo, 1000)),
      verify: true,
    });
    expect(JSON.parse(raw.body.toString('utf8'))).toMatchObject({ out_refund_no: outRefundNo });
    const after = sandbox.counters();
    const delta = (status: string) =>
      (after.requests[CREATE_ROUTE]?.[status] ?? 0) - (before.requests[CREATE_ROUTE]?.[status] ?? 0);
    expect([delta('500'), delta('200')]).toEqual([1, 1]);
    expect(after.faults.refundAnswersLost - before.faults.refundAnswersLost).toBe(1);
    await sandbox.idle();
    expect(sandbox.order(no).refunds).toHaveLength(1);
    expect(refundNotifications(no)).toHaveLength(1);
  });

  it('lostRefundAnswer reset: the connection drops after WeChat accepted; a retry returns the refund', async () => {
    const no = await paidOrder(1000);
    const outRefundNo = refundNo();
    sandbox.setFaults({ loseNextRefundAnswers: 1, lostRefundAnswer: 'reset' });
    const resetsBefore = sandbox.counters().faults.connectionsReset;
    await expect(create(refundBody(no, outRefundNo, 250))).rejects.toThrow();
    expect(sandbox.counters().faults.connectionsReset).toBe(resetsBefore + 1);
    const accepted = sandbox.getRefund(outRefundNo);
    const retried = await create(refundBody(no, outRefundNo, 250));
    expect(retried.json.refund_id).toBe(accepted.refund_id);
    expect(sandbox.order(no).refunds).toHaveLength(1);
  });

  it('dropRefundNotifications: refund notifications are lost, payment notifications still arrive', async () => {
    sandbox.setFaults({ dropRefundNotifications: 1 });
    const no = await paidOrder(1000);
    const outRefundNo = refundNo();
    await create(refundBody(no, outRefundNo, 1000));
    await sandbox.idle();
    const records = sandbox.notifications({ outTradeNo: no });
    expect(records.map((r) => [r.eventType, r.state])).toEqual([
      ['TRANSACTION.SUCCESS', 'delivered'],
      ['REFUND.SUCCESS', 'dropped'],
    ]);
    expect(receiver.received.some((r) => r.body.toString('utf8') === records[1]?.body)).toBe(false);
    // Learnt by query only.
    expect((await query(outRefundNo)).json.status).toBe('SUCCESS');
    expect(sandbox.faults().dropNotificationShare).toBe(0);
  });

  it.each(['ABNORMAL', 'CLOSED'] as const)(
    'refundOutcome %s: the refund ends so, and REFUND.<outcome> is notified',
    async (outcome) => {
      sandbox.setFaults({ refundOutcome: outcome });
      const no = await paidOrder(1000);
      const outRefundNo = refundNo();
      await create(refundBody(no, outRefundNo, 1000));
      await sandbox.idle();
      const queried = await query(outRefundNo);
      expect(queried.json.status).toBe(outcome);
      expect(queried.json.success_time).toBeUndefined();
      const [record] = refundNotifications(no);
      expect(record?.eventType).toBe(`REFUND.${outcome}`);
      const resource = await deliveredRefund(record?.body as string);
      expect(Object.keys(resource).sort()).toEqual(NOTIFICATION_FIELDS);
      expect(resource.refund_status).toBe(outcome);
      // The order stays REFUND even when its only refund closed.
      expect(sandbox.order(no).trade_state).toBe('REFUND');
    },
  );

  it('does not apply the refund API’s faults to refunds made in the merchant platform', async () => {
    sandbox.setFaults({ refundNotEnoughNext: 1, refundSystemErrorNext: 1, refundOutcome: 'CLOSED' });
    const no = await paidOrder(1000);
    const refund = sandbox.refund(no, { amount: 100 });
    await sandbox.idle();
    expect(sandbox.getRefund(refund.out_refund_no)).toMatchObject({
      status: 'SUCCESS',
      source: 'merchant_platform',
    });
    expect(sandbox.faults()).toMatchObject({ refundNotEnoughNext: 1, refundSystemErrorNext: 1 });
  });
});

describe('refund lifecycle control', () => {
  async function control(method: string, path: string, body?: unknown) {
    const response = await fetch(`${sandbox.url}/sandbox${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: control answers are checked field by field
    return { status: response.status, body: (await response.json()) as any };
  }

  it('PATCHes, validates and resets the refund faults like the others', async () => {
    const defaults = await control('GET', '/faults');
    expect(defaults.body).toMatchObject({
      refundNotEnoughNext: 0,
      refundSystemErrorNext: 0,
      loseNextRefundAnswers: 0,
      lostRefundAnswer: 'system_error',
      dropRefundNotifications: 0,
      refundOutcome: 'SUCCESS',
    });
    const patched = await control('PATCH', '/faults', {
      refundNotEnoughNext: 2,
      refundSystemErrorNext: 1,
      loseNextRefundAnswers: 3,
      lostRefundAnswer: 'reset',
      dropRefundNotifications: 0.5,
      refundOutcome: 'PROCESSING',
    });
    expect(patched).toMatchObject({
      status: 200,
      body: { refundNotEnoughNext: 2, refundOutcome: 'PROCESSING' },
    });
    for (const bad of [
      { refundOutcome: 'NOPE' },
      { dropRefundNotifications: 1.5 },
      { refundNotEnoughNext: -1 },
      { lostRefundAnswer: 'timeout' },
    ]) {
      expect(await control('PATCH', '/faults', bad)).toMatchObject({
        status: 400,
        body: { code: 'PARAM_ERROR' },
      });
    }
    expect((await control('DELETE', '/faults')).body).toMatchObject({
      refundNotEnoughNext: 0,
      refundOutcome: 'SUCCESS',
      lostRefundAnswer: 'system_error',
    });
  });

  it('settles a PROCESSING refund over HTTP, notifies it, and refuses to change a final one', async () => {
    sandbox.setFaults({ refundOutcome: 'PROCESSING' });
    const no = await paidOrder(1000);
    const outRefundNo = refundNo();
    await create(refundBody(no, outRefundNo, 300));
    await sandbox.idle();
    expect(refundNotifications(no)).toEqual([]);
    expect((await control('GET', `/refunds/${outRefundNo}`)).body).toMatchObject({
      status: 'PROCESSING',
      mchid: merchantOf(sandbox).mchid,
      source: 'api',
      notify_url: receiver.url,
    });

    const settled = await control('POST', `/refunds/${outRefundNo}/settle`, { status: 'SUCCESS' });
    expect(settled).toMatchObject({
      status: 200,
      body: {
        out_refund_no: outRefundNo,
        refund_status: 'SUCCESS',
        success_time: expect.stringMatching(BEIJING),
      },
    });
    await sandbox.idle();
    const [record] = refundNotifications(no);
    expect(record).toMatchObject({ eventType: 'REFUND.SUCCESS', state: 'delivered' });
    expect((await deliveredRefund(record?.body as string)).refund_status).toBe('SUCCESS');
    expect((await query(outRefundNo)).json.status).toBe('SUCCESS');

    expect(await control('POST', `/refunds/${outRefundNo}/settle`, { status: 'CLOSED' })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST' },
    });
    expect(await control('POST', `/refunds/${outRefundNo}/settle`, { status: 'PROCESSING' })).toMatchObject({
      status: 400,
      body: { code: 'PARAM_ERROR' },
    });
    expect(await control('POST', `/refunds/${refundNo('NONE')}/settle`, { status: 'SUCCESS' })).toMatchObject(
      {
        status: 404,
        body: { code: 'RESOURCE_NOT_EXISTS' },
      },
    );
    const listed = await control('GET', '/refunds');
    expect(listed.body.refunds.map((r: { out_refund_no: string }) => r.out_refund_no)).toContain(outRefundNo);
  });

  it('settles without a notification when notify is false: learnt by query only', async () => {
    sandbox.setFaults({ refundOutcome: 'PROCESSING' });
    const no = await paidOrder(1000);
    const outRefundNo = refundNo();
    await create(refundBody(no, outRefundNo, 300));
    const closed = sandbox.settleRefund(outRefundNo, { status: 'CLOSED', notify: false });
    expect(closed.refund_status).toBe('CLOSED');
    expect(closed.success_time).toBeUndefined();
    await sandbox.idle();
    expect(refundNotifications(no)).toEqual([]);
    expect((await query(outRefundNo)).json.status).toBe('CLOSED');
  });

  it('moves ABNORMAL to SUCCESS or CLOSED, never to ABNORMAL again', async () => {
    sandbox.setFaults({ refundOutcome: 'PROCESSING' });
    const no = await paidOrder(1000);
    const [a, b] = [refundNo(), refundNo()];
    await create(refundBody(no, a, 100));
    await create(refundBody(no, b, 100));
    sandbox.settleRefund(a, { status: 'ABNORMAL' });
    sandbox.settleRefund(b, { status: 'ABNORMAL' });
    expect(() => sandbox.settleRefund(a, { status: 'ABNORMAL' })).toThrow(
      expect.objectContaining({ status: 400, code: 'INVALID_REQUEST' }),
    );
    expect(sandbox.settleRefund(a, { status: 'SUCCESS' }).refund_status).toBe('SUCCESS');
    expect(sandbox.settleRefund(b, { status: 'CLOSED' }).refund_status).toBe('CLOSED');
    await sandbox.idle();
    expect(refundNotifications(no).map((r) => `${r.outRefundNo === a ? 'a' : 'b'}:${r.eventType}`)).toEqual([
      'a:REFUND.ABNORMAL',
      'b:REFUND.ABNORMAL',
      'a:REFUND.SUCCESS',
      'b:REFUND.CLOSED',
    ]);
  });

  it('a settlement by hand wins over the scheduled completion', async () => {
    const delayed = await startSandbox({ refundDelayMs: 20 });
    const delayedClient = clientFor(delayed);
    try {
      const no = await createNativeOrder(delayedClient, delayed, receiver.url);
      delayed.pay(no);
      const refund = delayed.refund(no, { amount: 100 });
      delayed.settleRefund(refund.out_refund_no, { status: 'CLOSED' });
      await delayed.idle();
      expect(delayed.getRefund(refund.out_refund_no).status).toBe('CLOSED');
      expect(
        delayed
          .notifications({ outTradeNo: no })
          .filter((r) => r.eventType.startsWith('REFUND.'))
          .map((r) => r.eventType),
      ).toEqual(['REFUND.CLOSED']);
    } finally {
      await delayedClient.close();
      await delayed.close();
    }
  });

  it('refunds in the merchant platform with or without a notification (notify: false)', async () => {
    const no = await paidOrder(1000);
    const silent = await control('POST', `/orders/${no}/refund`, { amount: 300, notify: false });
    expect(silent).toMatchObject({
      status: 200,
      body: { refund_status: 'PROCESSING', amount: { refund: 300 } },
    });
    const loud = await control('POST', `/orders/${no}/refund`, { amount: 200, outRefundNo: refundNo('MP') });
    await sandbox.idle();
    const records = refundNotifications(no);
    expect(records.map((r) => [r.outRefundNo, r.eventType])).toEqual([
      [loud.body.out_refund_no, 'REFUND.SUCCESS'],
    ]);
    // The silent one is known only to a query (or the bill).
    expect((await query(silent.body.out_refund_no)).json).toMatchObject({
      status: 'SUCCESS',
      amount: { refund: 300 },
    });
    expect(sandbox.getRefund(silent.body.out_refund_no).source).toBe('merchant_platform');
    expect(sandbox.order(no).trade_state).toBe('REFUND');
    expect(await control('POST', `/orders/${no}/refund`, { amount: 501 })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST' },
    });
    expect(await control('POST', `/orders/${no}/refund`, { outRefundNo: 'bad no' })).toMatchObject({
      status: 400,
      body: { code: 'PARAM_ERROR' },
    });
  });

  it('ABNORMAL → apply-abnormal-refund → PROCESSING → SUCCESS, notified', async () => {
    sandbox.setFaults({ refundOutcome: 'PROCESSING' });
    const no = await paidOrder(1000);
    const outRefundNo = refundNo();
    const created = await create(refundBody(no, outRefundNo, 1000));
    const path = `${REFUNDS}/${created.json.refund_id}/apply-abnormal-refund`;
    // Not ABNORMAL: refused.
    await expectError(
      signedCall('POST', path, { out_refund_no: outRefundNo, type: 'MERCHANT_BANK_CARD' }),
      400,
      'INVALID_REQUEST',
    );
    sandbox.settleRefund(outRefundNo, { status: 'ABNORMAL' });
    expect((await query(outRefundNo)).json.status).toBe('ABNORMAL');

    await expectError(
      signedCall('POST', path, { out_refund_no: outRefundNo, type: 'USER_BANK_CARD' }),
      400,
      'PARAM_ERROR',
    );
    await expectError(
      signedCall('POST', `${REFUNDS}/50000000000000000000000000000/apply-abnormal-refund`, {
        out_refund_no: outRefundNo,
        type: 'MERCHANT_BANK_CARD',
      }),
      404,
      'RESOURCE_NOT_EXISTS',
    );

    const applied = await signedCall('POST', path, {
      out_refund_no: outRefundNo,
      type: 'USER_BANK_CARD',
      bank_type: 'ICBC_DEBIT',
      bank_account: 'ZW5jcnlwdGVkIGJhbmsgYWNjb3VudA==',
      real_name: 'ZW5jcnlwdGVkIG5hbWU=',
    });
    expect(applied.status).toBe(200);
    expect(signedByPlatform(applied)).toBe(true);
    expect(Object.keys(applied.json).sort()).toEqual(ANSWER_FIELDS);
    expect(applied.json).toMatchObject({
      refund_id: created.json.refund_id,
      out_refund_no: outRefundNo,
      status: 'PROCESSING',
      channel: 'OTHER_BANKCARD',
      user_received_account: '工商银行借记卡',
    });
    // Asked again while it is being handled: refused.
    await expectError(
      signedCall('POST', path, { out_refund_no: outRefundNo, type: 'MERCHANT_BANK_CARD' }),
      400,
      'INVALID_REQUEST',
    );
    await sandbox.idle();
    const done = await query(outRefundNo);
    expect(done.json).toMatchObject({
      status: 'SUCCESS',
      channel: 'OTHER_BANKCARD',
      success_time: expect.stringMatching(BEIJING),
    });
    const records = refundNotifications(no);
    expect(records.map((r) => r.eventType)).toEqual(['REFUND.ABNORMAL', 'REFUND.SUCCESS']);
    expect(await deliveredRefund(records[1]?.body as string)).toMatchObject({
      refund_status: 'SUCCESS',
      user_received_account: '工商银行借记卡',
    });
  });
});
