import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import {
  BadSignatureError,
  CircuitOpenError,
  type ClientEvent,
  InvalidArgumentError,
  InvalidConfigError,
  MissingHeaderError,
  NetworkError,
  OrderNotExistError,
  RateLimitedError,
  rsaVerify,
  ServerError,
  TimeoutError,
  UnknownMerchantError,
  UnverifiedAnswerError,
  VerificationKeyStore,
  WeChatPayApiError,
  WeChatPayClient,
  type WeChatPayClientOptions,
  type WeChatPayError,
} from '../../src/index.ts';
import { certificatesBody } from '../support/certificates-body.ts';
import { API_V3_KEY, makeCertificate, nextSerial, rsaPair } from '../support/keys.ts';
import { transactionResource } from '../support/notifications.ts';
import {
  closedPortUrl,
  type Reply,
  type SeenRequest,
  startWireServer,
  type WireServer,
} from '../support/wire-server.ts';

const merchant = rsaPair();
const certA = await makeCertificate(nextSerial());
const certB = await makeCertificate(nextSerial());
const MCHID = '1230000109';
const OUT_TRADE_NO = 'RECHARGE_ORDER_000123';
const paid = JSON.stringify(transactionResource());

let handle: (req: SeenRequest) => Reply | Promise<Reply> = () => ({ status: 200, body: paid });
const server: WireServer = await startWireServer({
  merchantPublicKey: merchant.publicKey,
  signingKey: certA.privateKey,
  serial: certA.serial,
  handle: (req) => handle(req),
});
const clients: WeChatPayClient[] = [];

function makeClient(overrides: Partial<WeChatPayClientOptions> = {}): WeChatPayClient {
  const client = new WeChatPayClient({
    mchid: MCHID,
    merchantSerialNo: '3775B6A45ACD588826D15E583A95F5DD75AAAAAA',
    privateKey: merchant.privateKey,
    baseUrls: [server.url],
    allowInsecureHttp: true,
    keys: new VerificationKeyStore({ certificates: [certA.platform] }),
    retryDelayMs: 1,
    ...overrides,
  });
  clients.push(client);
  return client;
}

async function rejection(promise: Promise<unknown>): Promise<WeChatPayError> {
  try {
    await promise;
  } catch (error) {
    return error as WeChatPayError;
  }
  throw new Error('expected a rejection');
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  server.seen.length = 0;
  server.setSigner(certA.privateKey, certA.serial);
  handle = () => ({ status: 200, body: paid });
});
afterAll(() => server.close());

describe('WeChatPayClient requests', () => {
  it('queries by out_trade_no with a signed GET and returns the verified, parsed transaction', async () => {
    const client = makeClient();
    const tx = await client.queryByOutTradeNo(OUT_TRADE_NO);
    expect(tx.trade_state).toBe('SUCCESS');
    const [req] = server.seen;
    expect(req?.method).toBe('GET');
    expect(req?.path).toBe(`/v3/pay/transactions/out-trade-no/${OUT_TRADE_NO}?mchid=${MCHID}`);
    expect(req?.signatureValid).toBe(true);
    expect(req?.headers.accept).toBe('application/json');
    expect(req?.headers['user-agent']).toMatch(/paysync/);
    expect(req?.headers['content-type']).toBeUndefined();
    expect(client.stats().calls.success).toBe(1);
  });

  it('queries by transaction_id', async () => {
    await makeClient().queryByTransactionId('4200000000202601150000000001');
    expect(server.seen[0]?.path).toBe(`/v3/pay/transactions/id/4200000000202601150000000001?mchid=${MCHID}`);
  });

  it('closes an order with POST {"mchid"} and accepts the signed empty 204', async () => {
    handle = () => ({ status: 204 });
    await makeClient().closeOrder(OUT_TRADE_NO);
    const [req] = server.seen;
    expect(req?.path).toBe(`/v3/pay/transactions/out-trade-no/${OUT_TRADE_NO}/close`);
    expect(req?.body).toBe('{"mchid":"1230000109"}');
    expect(req?.headers['content-type']).toBe('application/json');
  });

  it('creates Native and JSAPI prepays and signs the JSAPI pay parameters', async () => {
    const client = makeClient();
    const input = {
      appid: 'wxd678efh567hg6787',
      description: 'points recharge',
      outTradeNo: OUT_TRADE_NO,
      notifyUrl: 'https://pay.example.com/wechatpay/notify',
      amountTotal: 100,
      timeExpire: '2026-01-15T12:30:00+08:00',
    };
    handle = () => ({ status: 200, body: '{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}' });
    expect(await client.prepayNative(input)).toEqual({ codeUrl: 'weixin://wxpay/bizpayurl?pr=abc' });
    expect(JSON.parse(server.seen[0]?.body ?? '')).toEqual({
      appid: 'wxd678efh567hg6787',
      mchid: MCHID,
      description: 'points recharge',
      out_trade_no: OUT_TRADE_NO,
      time_expire: '2026-01-15T12:30:00+08:00',
      notify_url: 'https://pay.example.com/wechatpay/notify',
      amount: { total: 100, currency: 'CNY' },
    });
    handle = () => ({ status: 200, body: '{"prepay_id":"wx26112221580621e9b071c00d9e093b0000"}' });
    const { prepayId } = await client.prepayJsapi({ ...input, payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
    expect(server.seen[1]?.path).toBe('/v3/pay/transactions/jsapi');
    expect(JSON.parse(server.seen[1]?.body ?? '').payer).toEqual({ openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
    const params = client.jsapiPayParams('wxd678efh567hg6787', prepayId);
    const message = `${params.appId}\n${params.timeStamp}\n${params.nonceStr}\n${params.package}\n`;
    expect(params.package).toBe('prepay_id=wx26112221580621e9b071c00d9e093b0000');
    expect(rsaVerify(merchant.publicKey, message, params.paySign)).toBe(true);
  });

  it('asks about an order only with its own merchant: another mchid is refused before any request', async () => {
    const client = makeClient();
    handle = () => ({ status: 200, body: paid });
    const sent = server.seen.length;
    for (const call of [
      () => client.queryByOutTradeNo(OUT_TRADE_NO, '1900000109'),
      () => client.closeOrder(OUT_TRADE_NO, '1900000109'),
    ]) {
      const error = await rejection(call());
      expect(error).toBeInstanceOf(UnknownMerchantError);
      expect(error).toMatchObject({ code: 'UNKNOWN_MERCHANT', mchid: '1900000109', ours: client.mchid });
    }
    expect(server.seen).toHaveLength(sent);
    await client.queryByOutTradeNo(OUT_TRADE_NO, client.mchid);
    expect(server.seen).toHaveLength(sent + 1);
  });

  it('refuses invalid arguments without sending anything', async () => {
    const client = makeClient();
    expect(await rejection(client.queryByOutTradeNo('a/b'))).toBeInstanceOf(InvalidArgumentError);
    const bad = {
      appid: 'wx1',
      description: 'd',
      outTradeNo: OUT_TRADE_NO,
      notifyUrl: 'https://x.example/n',
      amountTotal: 0,
    };
    expect(await rejection(client.prepayNative(bad))).toBeInstanceOf(InvalidArgumentError);
    expect(server.seen).toHaveLength(0);
  });
});

describe('WeChatPayClient response verification', () => {
  it('rejects a response whose signature does not verify, including probes', async () => {
    handle = () => ({ status: 200, body: paid, sign: 'probe' });
    const client = makeClient();
    expect(await rejection(client.queryByOutTradeNo(OUT_TRADE_NO))).toBeInstanceOf(BadSignatureError);
    server.setSigner(rsaPair().privateKey, certA.serial);
    handle = () => ({ status: 200, body: paid });
    expect(await rejection(client.queryByOutTradeNo(OUT_TRADE_NO))).toBeInstanceOf(BadSignatureError);
    expect(client.stats().calls.verification_failed).toBe(2);
  });

  it('rejects an unsigned success response', async () => {
    handle = () => ({ status: 200, body: paid, sign: 'none' });
    expect(await rejection(makeClient().queryByOutTradeNo(OUT_TRADE_NO))).toBeInstanceOf(MissingHeaderError);
  });

  it('surfaces a signed ORDER_NOT_EXIST or ORDERNOTEXIST as OrderNotExistError', async () => {
    const client = makeClient();
    handle = () => ({ status: 404, body: '{"code":"ORDER_NOT_EXIST","message":"订单不存在"}' });
    const signed = await rejection(client.queryByOutTradeNo(OUT_TRADE_NO));
    expect(signed).toBeInstanceOf(OrderNotExistError);
    expect(signed).toMatchObject({ code: 'ORDER_NOT_EXIST', status: 404, verified: true });
    handle = () => ({ status: 404, body: '{"code":"ORDERNOTEXIST","message":"订单不存在"}' });
    expect(await rejection(client.queryByOutTradeNo(OUT_TRADE_NO))).toMatchObject({
      code: 'ORDER_NOT_EXIST',
      verified: true,
    });
  });

  // An egress proxy, a misrouted base URL or an error page can answer "no such order" too: only
  // WeChat's signature makes it a fact that may finalise an order.
  it('never takes an unsigned or wrongly signed ORDER_NOT_EXIST for a fact', async () => {
    const client = makeClient();
    for (const [sign, Expected] of [
      ['none', UnverifiedAnswerError],
      ['probe', BadSignatureError],
    ] as const) {
      handle = () => ({ status: 404, body: '{"code":"ORDER_NOT_EXIST","message":"订单不存在"}', sign });
      const error = await rejection(client.queryByOutTradeNo(OUT_TRADE_NO));
      expect(error).not.toBeInstanceOf(OrderNotExistError);
      expect(error).toBeInstanceOf(Expected);
      await expect(client.closeOrder(OUT_TRADE_NO)).rejects.toBeInstanceOf(Expected);
    }
    expect(client.stats().calls.verification_failed).toBe(4);
  });

  it('reports a request WeChat refuses as a WeChatPayApiError carrying WeChat’s code', async () => {
    const client = makeClient({ privateKey: rsaPair().privateKey });
    const error = await rejection(client.queryByOutTradeNo(OUT_TRADE_NO));
    expect(error).toBeInstanceOf(WeChatPayApiError);
    expect(error).toMatchObject({ code: 'API_ERROR', status: 401, wechatCode: 'SIGN_ERROR' });
    expect(server.seen).toHaveLength(1);
  });
});

describe('WeChatPayClient retries, failover and breaker', () => {
  it('retries 5xx with the same signed request until it succeeds', async () => {
    let calls = 0;
    handle = () =>
      ++calls <= 2
        ? { status: 500, body: '{"code":"SYSTEM_ERROR","message":"系统错误"}', sign: 'none' }
        : { status: 200, body: paid };
    const events: ClientEvent[] = [];
    const client = makeClient({ retries: 2, onEvent: (e) => events.push(e) });
    await expect(client.queryByOutTradeNo(OUT_TRADE_NO)).resolves.toMatchObject({ trade_state: 'SUCCESS' });
    expect(server.seen).toHaveLength(3);
    const auth = new Set(server.seen.map((r) => r.headers.authorization));
    expect(auth.size).toBe(1);
    expect(events.filter((e) => e.type === 'attempt_failed')).toHaveLength(2);
    expect(events.find((e) => e.type === 'call')).toMatchObject({ outcome: 'success', attempts: 3 });
  });

  it('gives up with ServerError after the configured retries', async () => {
    handle = () => ({ status: 503, sign: 'none' });
    const error = await rejection(makeClient({ retries: 1 }).queryByOutTradeNo(OUT_TRADE_NO));
    expect(error).toBeInstanceOf(ServerError);
    expect(server.seen).toHaveLength(2);
  });

  it('fails over to the backup host when the primary is unreachable', async () => {
    const client = makeClient({ baseUrls: [await closedPortUrl(), server.url], retries: 1 });
    await expect(client.queryByOutTradeNo(OUT_TRADE_NO)).resolves.toMatchObject({ trade_state: 'SUCCESS' });
    expect(client.stats()).toMatchObject({ retries: 1, failovers: 1 });
  });

  it('surfaces 429 as RateLimitedError without retrying', async () => {
    handle = () => ({
      status: 429,
      body: '{"code":"RATELIMIT_EXCEEDED","message":"too fast"}',
      sign: 'none',
    });
    const client = makeClient({ retries: 3 });
    const error = await rejection(client.queryByOutTradeNo(OUT_TRADE_NO));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', wechatCode: 'RATELIMIT_EXCEEDED' });
    expect(server.seen).toHaveLength(1);
    expect(client.stats().calls.rate_limited).toBe(1);
  });

  it('reports NetworkError when no host answers and TimeoutError when one hangs', async () => {
    const down = makeClient({ baseUrls: [await closedPortUrl()], retries: 1 });
    expect(await rejection(down.queryByOutTradeNo(OUT_TRADE_NO))).toBeInstanceOf(NetworkError);
    handle = () => ({ status: 200, hang: true });
    const slow = makeClient({ timeoutMs: 200, retries: 0 });
    expect(await rejection(slow.queryByOutTradeNo(OUT_TRADE_NO))).toBeInstanceOf(TimeoutError);
  });

  it('does not count business errors such as ORDER_NOT_EXIST against the breaker', async () => {
    handle = () => ({ status: 404, body: '{"code":"ORDER_NOT_EXIST","message":"x"}' });
    const client = makeClient({ breaker: { volumeThreshold: 2, errorThresholdPercentage: 10 } });
    for (let i = 0; i < 6; i++) await rejection(client.queryByOutTradeNo(OUT_TRADE_NO));
    expect(client.breakerState).toBe('closed');
    expect(client.stats().calls.not_found).toBe(6);
  });

  it('opens the breaker on repeated failures, fails fast, then half-opens and closes on recovery', async () => {
    handle = () => ({ status: 500, sign: 'none' });
    const states: string[] = [];
    let halfOpened!: () => void;
    const halfOpen = new Promise<void>((resolve) => {
      halfOpened = resolve;
    });
    const client = makeClient({
      retries: 0,
      breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 50 },
      onEvent: (e) => {
        if (e.type !== 'breaker') return;
        states.push(e.state);
        if (e.state === 'half_open') halfOpened();
      },
    });
    await rejection(client.queryByOutTradeNo(OUT_TRADE_NO));
    await rejection(client.queryByOutTradeNo(OUT_TRADE_NO));
    expect(client.breakerState).toBe('open');
    const sent = server.seen.length;
    expect(await rejection(client.queryByOutTradeNo(OUT_TRADE_NO))).toBeInstanceOf(CircuitOpenError);
    expect(server.seen).toHaveLength(sent);
    await halfOpen;
    handle = () => ({ status: 200, body: paid });
    await expect(client.queryByOutTradeNo(OUT_TRADE_NO)).resolves.toMatchObject({ trade_state: 'SUCCESS' });
    expect(client.breakerState).toBe('closed');
    expect(states).toEqual(['open', 'half_open', 'closed']);
    expect(client.stats().calls).toMatchObject({ server_error: 2, circuit_open: 1, success: 1 });
  });
});

describe('WeChatPayClient keys', () => {
  it('bootstraps platform certificates, then picks up a rotated-in certificate after one refresh', async () => {
    let listed = [certA];
    let downloads = 0;
    handle = (req) => {
      if (req.path === '/v3/certificates') {
        downloads++;
        return { status: 200, body: certificatesBody(listed) };
      }
      return { status: 200, body: paid };
    };
    const client = makeClient({ keys: undefined, apiV3Key: API_V3_KEY, unknownSerialCooldownMs: 0 });
    await client.start();
    expect(downloads).toBe(1);
    await client.queryByOutTradeNo(OUT_TRADE_NO);
    listed = [certA, certB];
    server.setSigner(certB.privateKey, certB.serial);
    await expect(client.queryByOutTradeNo(OUT_TRADE_NO)).resolves.toMatchObject({ trade_state: 'SUCCESS' });
    expect(downloads).toBe(2);
    expect(client.keyStore?.serials().certificates.sort()).toEqual([certA.serial, certB.serial].sort());
  });

  it('rejects a certificate list whose response signature does not verify', async () => {
    const intruder = await makeCertificate(nextSerial());
    handle = () => ({ status: 200, body: certificatesBody([intruder]) });
    server.setSigner(rsaPair().privateKey, intruder.serial);
    const client = makeClient({ keys: undefined, apiV3Key: API_V3_KEY });
    expect(await rejection(client.downloadCertificates())).toBeInstanceOf(BadSignatureError);
  });

  it('works with only a WeChat Pay public key when /v3/certificates says RESOURCE_NOT_EXISTS', async () => {
    const wechatPublic = rsaPair();
    const id = 'PUB_KEY_ID_0112300001092026011500000000';
    server.setSigner(wechatPublic.privateKey, id);
    handle = (req) =>
      req.path === '/v3/certificates'
        ? { status: 404, body: '{"code":"RESOURCE_NOT_EXISTS","message":"无可用的平台证书"}', sign: 'none' }
        : { status: 200, body: paid };
    const client = makeClient({
      keys: undefined,
      apiV3Key: API_V3_KEY,
      publicKey: { id, key: wechatPublic.publicKey },
    });
    await client.start();
    await expect(client.queryByOutTradeNo(OUT_TRADE_NO)).resolves.toMatchObject({ trade_state: 'SUCCESS' });
    expect(server.seen.at(-1)?.headers['wechatpay-serial']).toBe(id);
  });

  it('fails calls made after close() with ClientClosedError', async () => {
    const client = makeClient();
    await client.close();
    expect(await rejection(client.queryByOutTradeNo(OUT_TRADE_NO))).toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(server.seen).toHaveLength(0);
  });

  it('refuses plain http unless enabled, and base URLs with a path', () => {
    expect(() => makeClient({ allowInsecureHttp: false })).toThrow(InvalidConfigError);
    expect(() => makeClient({ baseUrls: [`${server.url}/prefix`] })).toThrow(InvalidConfigError);
    expect(() => makeClient({ apiV3Key: 'short' })).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
  });
});
