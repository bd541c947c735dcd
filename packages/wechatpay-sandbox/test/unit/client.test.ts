import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BadSignatureError,
  CircuitOpenError,
  NetworkError,
  OrderNotExistError,
  RateLimitedError,
  WeChatPayApiError,
  type WeChatPayClient,
} from '@paysync/wechatpay';
import { generateTestMerchant, type Sandbox, SandboxError, startSandbox } from '../../src/index.ts';
import { clientFor, createNativeOrder, eventually, merchantOf, outTradeNo } from './support.ts';

const NOTIFY_URL = 'https://merchant.example/wechatpay/notify';

let sandbox: Sandbox;
let client: WeChatPayClient;

beforeAll(async () => {
  // Orders here are never paid through a reachable notify URL: the unreachable fault keeps the
  // sandbox from calling out, as WeChat could not reach the incident's localhost either.
  sandbox = await startSandbox({ timeScale: 0.0001, faults: { notifyUnreachable: 'not_attempted' } });
  client = clientFor(sandbox);
  await client.start();
});

afterEach(() => {
  sandbox.resetFaults();
  sandbox.setFaults({ notifyUnreachable: 'not_attempted' });
});

afterAll(async () => {
  await client.close();
  await sandbox.close();
});

describe('the library client against the sandbox', () => {
  it('creates a Native order and queries it as NOTPAY, then SUCCESS once the user paid', async () => {
    const no = await createNativeOrder(client, sandbox, NOTIFY_URL, { amountTotal: 2500 });
    const before = await client.queryByOutTradeNo(no);
    expect(before).toMatchObject({ out_trade_no: no, trade_state: 'NOTPAY', amount: { total: 2500 } });
    expect(before.transaction_id).toBeUndefined();

    const paid = sandbox.pay(no, { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
    const after = await client.queryByOutTradeNo(no);
    expect(after).toMatchObject({
      trade_state: 'SUCCESS',
      transaction_id: paid.transaction_id,
      payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
      amount: { total: 2500, payer_total: 2500, currency: 'CNY' },
    });
    expect(after.transaction_id).toMatch(/^\d{28}$/);
    const byId = await client.queryByTransactionId(after.transaction_id as string);
    expect(byId.out_trade_no).toBe(no);
  });

  it('creates a JSAPI order and returns its prepay_id', async () => {
    const no = outTradeNo('JSAPI');
    const { prepayId } = await client.prepayJsapi({
      appid: merchantOf(sandbox).appid,
      description: 'points recharge',
      outTradeNo: no,
      notifyUrl: NOTIFY_URL,
      amountTotal: 100,
      payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
    });
    expect(prepayId).toMatch(/^wx/);
    expect(sandbox.order(no)).toMatchObject({ trade_type: 'JSAPI', prepay_id: prepayId });
    expect(sandbox.pay(no).payer?.openid).toBe('oUpF8uMuAJO_M2pxb1Q9zNjWeS6o');
  });

  it('answers 404 ORDER_NOT_EXIST for a query by transaction_id before payment and for unknown orders', async () => {
    await expect(client.queryByTransactionId('4200000000202401010000000000')).rejects.toBeInstanceOf(
      OrderNotExistError,
    );
    await expect(client.queryByOutTradeNo(outTradeNo('NOPE'))).rejects.toBeInstanceOf(OrderNotExistError);
  });

  it('closes an order with a verified 204, after which it is CLOSED and can no longer be paid', async () => {
    const no = await createNativeOrder(client, sandbox, NOTIFY_URL);
    await client.closeOrder(no);
    expect((await client.queryByOutTradeNo(no)).trade_state).toBe('CLOSED');
    expect(() => sandbox.pay(no)).toThrow(expect.objectContaining({ code: 'ORDER_CLOSED' }));
  });

  it('retries a query that got 500 twice and succeeds on the third attempt', async () => {
    const no = await createNativeOrder(client, sandbox, NOTIFY_URL);
    sandbox.setFaults({ failNextQueries: 2 });
    const route = 'GET /v3/pay/transactions/out-trade-no/:out_trade_no';
    const before = sandbox.counters().requests[route] ?? {};
    const retriesBefore = client.stats().retries;
    await expect(client.queryByOutTradeNo(no)).resolves.toMatchObject({ trade_state: 'NOTPAY' });
    const after = sandbox.counters().requests[route] ?? {};
    expect((after['500'] ?? 0) - (before['500'] ?? 0)).toBe(2);
    expect((after['200'] ?? 0) - (before['200'] ?? 0)).toBe(1);
    expect(client.stats().retries - retriesBefore).toBe(2);
  });

  it('surfaces 429 as the rate-limit error without retrying', async () => {
    const no = await createNativeOrder(client, sandbox, NOTIFY_URL);
    sandbox.setFaults({ rateLimitShare: 1 });
    const error = await client.queryByOutTradeNo(no).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).wechatCode).toBe('RATELIMIT_EXCEEDED');
    expect(sandbox.counters().faults.injected429).toBe(1);
  });

  it('limits queries to the configured QPS with 429 FREQUENCY_LIMITED', async () => {
    // A frozen sandbox clock: the token bucket never refills, so exactly `qps` queries get through.
    const frozen = Date.now();
    const limited = await startSandbox({ clock: () => frozen, queryQps: 2 });
    const limitedClient = clientFor(limited);
    try {
      const no = await createNativeOrder(limitedClient, limited, NOTIFY_URL);
      const results = await Promise.allSettled([1, 2, 3, 4].map(() => limitedClient.queryByOutTradeNo(no)));
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).toHaveLength(2);
      for (const r of rejected) {
        expect(r.reason).toBeInstanceOf(RateLimitedError);
        expect((r.reason as RateLimitedError).wechatCode).toBe('FREQUENCY_LIMITED');
      }
      expect(limited.counters().rateLimited).toBe(2);
    } finally {
      await limitedClient.close();
      await limited.close();
    }
  });

  it('rejects a response carrying a signature probe', async () => {
    const no = await createNativeOrder(client, sandbox, NOTIFY_URL);
    sandbox.setFaults({ probeNextResponses: 1 });
    await expect(client.queryByOutTradeNo(no)).rejects.toBeInstanceOf(BadSignatureError);
    expect(sandbox.counters().faults.responseProbes).toBe(1);
  });

  it('answers 401 SIGN_ERROR to a request signed with the wrong key', async () => {
    const impostor = await generateTestMerchant();
    // Shares the real client's verification keys, so the signed 401 can be verified.
    const wrong = clientFor(sandbox, { privateKey: impostor.privateKey, keys: client.keys });
    const failures = sandbox.counters().signatureFailures;
    try {
      const error = await wrong.queryByOutTradeNo(outTradeNo()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WeChatPayApiError);
      expect(error).toMatchObject({ status: 401, wechatCode: 'SIGN_ERROR', verified: true });
      expect(sandbox.counters().signatureFailures).toBe(failures + 1);
    } finally {
      await wrong.close();
    }
  });

  it('refuses to pay an order after its time_expire', async () => {
    let now = Date.now();
    const timed = await startSandbox({ clock: () => now, faults: { notifyUnreachable: 'not_attempted' } });
    const timedClient = clientFor(timed, { clock: () => now });
    try {
      const expire = new Date(now + 60_000).toISOString().replace('Z', '+00:00');
      const no = await createNativeOrder(timedClient, timed, NOTIFY_URL, { timeExpire: expire });
      now += 61_000;
      expect(() => timed.pay(no)).toThrow(SandboxError);
      expect(() => timed.pay(no)).toThrow(expect.objectContaining({ code: 'ORDER_EXPIRED' }));
      // time_expire is the last moment to pay, not an automatic close.
      expect((await timedClient.queryByOutTradeNo(no)).trade_state).toBe('NOTPAY');
    } finally {
      await timedClient.close();
      await timed.close();
    }
  });
});

describe('the circuit breaker around a sandbox that goes down', () => {
  it('opens while the sandbox is down, fails fast, then half-opens and closes once it recovers', async () => {
    const breakerClient = clientFor(sandbox, {
      retries: 0,
      breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 200 },
    });
    try {
      const no = await createNativeOrder(breakerClient, sandbox, NOTIFY_URL);
      sandbox.setFaults({ down: true });
      // The breaker has also seen the successful certificate download and prepay: fail until it opens.
      let failures = 0;
      while (breakerClient.breakerState !== 'open' && failures < 10) {
        await expect(breakerClient.queryByOutTradeNo(no)).rejects.toBeInstanceOf(NetworkError);
        failures += 1;
      }
      expect(breakerClient.breakerState).toBe('open');
      expect(failures).toBeGreaterThanOrEqual(2);

      const resetsBefore = sandbox.counters().faults.connectionsReset;
      await expect(breakerClient.queryByOutTradeNo(no)).rejects.toBeInstanceOf(CircuitOpenError);
      expect(sandbox.counters().faults.connectionsReset).toBe(resetsBefore);

      sandbox.setFaults({ down: false });
      await eventually(() => breakerClient.breakerState === 'half_open', 'the breaker to half-open');
      await expect(breakerClient.queryByOutTradeNo(no)).resolves.toMatchObject({ trade_state: 'NOTPAY' });
      expect(breakerClient.breakerState).toBe('closed');
    } finally {
      await breakerClient.close();
    }
  });
});
