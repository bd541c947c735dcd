import { describe, expect, it } from '@jest/globals';
import {
  BadSignatureError,
  buildNotificationBody,
  buildSignedHeaders,
  DecryptFailedError,
  encryptResource,
  MalformedError,
  MissingHeaderError,
  NotificationVerifier,
  SIGNATURE_PROBE_PREFIX,
  StaleTimestampError,
  UnknownSerialError,
  UnreadableNotificationError,
  UnsupportedSignatureTypeError,
  VerificationKeyStore,
  type WeChatPayError,
} from '../../src/index.ts';
import { API_V3_KEY, makeCertificate, nextSerial, rsaPair } from '../support/keys.ts';
import { clock, makeNotification, NOW_S, transactionResource } from '../support/notifications.ts';

const cert = await makeCertificate(nextSerial());
const pub = rsaPair();
const PUB_ID = 'PUB_KEY_ID_0112345678202601150000000000';
const keys = new VerificationKeyStore({
  certificates: [cert.platform],
  publicKeys: [{ id: PUB_ID, key: pub.publicKey }],
  clock,
});
const verifier = new NotificationVerifier({ keys, apiV3Key: API_V3_KEY, clock });

async function rejection(promise: Promise<unknown>): Promise<WeChatPayError> {
  try {
    await promise;
  } catch (error) {
    return error as WeChatPayError;
  }
  throw new Error('expected a rejection');
}

describe('NotificationVerifier', () => {
  it('verifies and decrypts a transaction notification signed with a platform certificate', async () => {
    const n = makeNotification({ privateKey: cert.privateKey, serial: cert.serial });
    const result = await verifier.verify({ headers: n.headers, body: Buffer.from(n.body) });
    expect(result.kind).toBe('transaction');
    if (result.kind !== 'transaction') throw new Error('unreachable');
    expect(result.transaction.out_trade_no).toBe('RECHARGE_ORDER_000123');
    expect(result.transaction.amount?.total).toBe(100);
    expect(result.serial).toBe(cert.serial);
    expect(result.eventType).toBe('TRANSACTION.SUCCESS');
    expect(result.requestId).toBe('08F78BB5AF0610D302A2DB0F2C0000000000');
  });

  it('verifies a notification signed with the WeChat Pay public key alongside certificates', async () => {
    const n = makeNotification({ privateKey: pub.privateKey, serial: PUB_ID });
    const result = await verifier.verify({ headers: n.headers, body: n.body });
    expect(result.kind).toBe('transaction');
  });

  it('decrypts a refund notification into a typed refund', async () => {
    const refund = {
      mchid: '1230000109',
      out_trade_no: 'RECHARGE_ORDER_000123',
      transaction_id: '4200000000202601150000000001',
      out_refund_no: 'REFUND_000123',
      refund_id: '50000000382019052709732678859',
      refund_status: 'SUCCESS',
      success_time: '2026-01-15T13:00:00+08:00',
      user_received_account: '招商银行信用卡0403',
      amount: { total: 100, refund: 100, payer_total: 100, payer_refund: 100 },
      future_field: { kept: true },
    };
    const n = makeNotification({
      privateKey: cert.privateKey,
      serial: cert.serial,
      eventType: 'REFUND.SUCCESS',
      originalType: 'refund',
      data: refund,
    });
    const result = await verifier.verify({ headers: n.headers, body: n.body });
    if (result.kind !== 'refund') throw new Error(`expected a refund, got ${result.kind}`);
    expect(result.refund.refund_status).toBe('SUCCESS');
    expect(result.refund.future_field).toEqual({ kept: true });
  });

  it('reads headers case-insensitively, from fetch Headers too', async () => {
    const n = makeNotification({ privateKey: cert.privateKey, serial: cert.serial });
    const lower = Object.fromEntries(Object.entries(n.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const upper = Object.fromEntries(Object.entries(n.headers).map(([k, v]) => [k.toUpperCase(), v]));
    await expect(verifier.verify({ headers: lower, body: n.body })).resolves.toMatchObject({
      kind: 'transaction',
    });
    await expect(verifier.verify({ headers: upper, body: n.body })).resolves.toMatchObject({
      kind: 'transaction',
    });
    await expect(verifier.verify({ headers: new Headers(n.headers), body: n.body })).resolves.toMatchObject({
      kind: 'transaction',
    });
  });

  it('treats an absent Wechatpay-Signature-Type as the default and rejects any other type', async () => {
    const n = makeNotification({ privateKey: cert.privateKey, serial: cert.serial });
    const { 'Wechatpay-Signature-Type': _type, ...withoutType } = n.headers;
    await expect(verifier.verify({ headers: withoutType, body: n.body })).resolves.toMatchObject({
      kind: 'transaction',
    });
    const other = { ...n.headers, 'Wechatpay-Signature-Type': 'WECHATPAY2-SM2-WITH-SM3' };
    expect(await rejection(verifier.verify({ headers: other, body: n.body }))).toBeInstanceOf(
      UnsupportedSignatureTypeError,
    );
  });

  it('verifies the raw bytes as received, not a re-serialised body', async () => {
    const body = `{ "id":"EV-1",\n  "create_time":"2026-01-15T12:00:01+08:00","resource_type":"encrypt-resource","event_type":"TRANSACTION.SUCCESS","summary":"支付成功","resource":${JSON.stringify(
      encryptResource({ apiV3Key: API_V3_KEY, originalType: 'transaction', data: transactionResource() }),
    )} }`;
    const headers = buildSignedHeaders({
      privateKey: cert.privateKey,
      serial: cert.serial,
      body,
      timestamp: NOW_S,
    });
    await expect(verifier.verify({ headers, body: Buffer.from(body) })).resolves.toMatchObject({
      id: 'EV-1',
    });
    const reserialised = JSON.stringify(JSON.parse(body));
    expect(await rejection(verifier.verify({ headers, body: reserialised }))).toBeInstanceOf(
      BadSignatureError,
    );
  });

  it('rejects a tampered body with BadSignatureError', async () => {
    const n = makeNotification({ privateKey: cert.privateKey, serial: cert.serial });
    const tampered = n.body.replace('TRANSACTION.SUCCESS', 'TRANSACTION.SUCCESs');
    const error = await rejection(verifier.verify({ headers: n.headers, body: tampered }));
    expect(error).toBeInstanceOf(BadSignatureError);
    expect(error.code).toBe('BAD_SIGNATURE');
  });

  it("rejects WeChat's signature probes like any bad signature", async () => {
    const n = makeNotification({ privateKey: cert.privateKey, serial: cert.serial });
    const probe = {
      ...n.headers,
      'Wechatpay-Signature': `${SIGNATURE_PROBE_PREFIX}${n.headers['Wechatpay-Signature']}`,
    };
    expect(await rejection(verifier.verify({ headers: probe, body: n.body }))).toBeInstanceOf(
      BadSignatureError,
    );
  });

  it('rejects a signature made with another key under a known serial', async () => {
    const n = makeNotification({ privateKey: rsaPair().privateKey, serial: cert.serial });
    expect(await rejection(verifier.verify(n))).toBeInstanceOf(BadSignatureError);
  });

  it('verifies before decrypting: a forged message with a wrong APIv3 key is a bad signature, not a decrypt failure', async () => {
    const n = makeNotification({
      privateKey: rsaPair().privateKey,
      serial: cert.serial,
      apiV3Key: 'x'.repeat(32),
    });
    expect(await rejection(verifier.verify(n))).toBeInstanceOf(BadSignatureError);
  });

  it('reports a genuine notification encrypted with another APIv3 key as DecryptFailedError', async () => {
    const n = makeNotification({
      privateKey: cert.privateKey,
      serial: cert.serial,
      apiV3Key: 'x'.repeat(32),
    });
    const error = await rejection(verifier.verify(n));
    expect(error).toBeInstanceOf(DecryptFailedError);
    expect(error.code).toBe('DECRYPT_FAILED');
  });

  it('reports a tampered ciphertext (GCM tag) in a correctly signed body as DecryptFailedError', async () => {
    const resource = encryptResource({
      apiV3Key: API_V3_KEY,
      originalType: 'transaction',
      data: transactionResource(),
    });
    const raw = Buffer.from(resource.ciphertext, 'base64');
    raw[0] = (raw[0] as number) ^ 0x01;
    const body = buildNotificationBody({
      id: 'EV-2',
      createTime: '2026-01-15T12:00:01+08:00',
      eventType: 'TRANSACTION.SUCCESS',
      resource: { ...resource, ciphertext: raw.toString('base64') },
    });
    const headers = buildSignedHeaders({
      privateKey: cert.privateKey,
      serial: cert.serial,
      body,
      timestamp: NOW_S,
    });
    expect(await rejection(verifier.verify({ headers, body }))).toBeInstanceOf(DecryptFailedError);
  });

  it.each([
    ['301 s in the past', -301],
    ['exactly 300 s in the past', -300],
    ['exactly 300 s in the future', 300],
    ['301 s in the future', 301],
  ])('rejects a timestamp %s as stale', async (_label, offset) => {
    const n = makeNotification({
      privateKey: cert.privateKey,
      serial: cert.serial,
      timestamp: NOW_S + offset,
    });
    const error = await rejection(verifier.verify(n));
    expect(error).toBeInstanceOf(StaleTimestampError);
    expect(error.code).toBe('STALE_TIMESTAMP');
  });

  it('accepts timestamps 299 s away on either side', async () => {
    for (const offset of [-299, 299]) {
      const n = makeNotification({
        privateKey: cert.privateKey,
        serial: cert.serial,
        timestamp: NOW_S + offset,
      });
      await expect(verifier.verify(n)).resolves.toMatchObject({ kind: 'transaction' });
    }
  });

  it('rejects an unknown serial with UnknownSerialError', async () => {
    const other = await makeCertificate(nextSerial());
    const n = makeNotification({ privateKey: other.privateKey, serial: other.serial });
    const error = await rejection(verifier.verify(n));
    expect(error).toBeInstanceOf(UnknownSerialError);
    expect(error.code).toBe('UNKNOWN_SERIAL');
    const unknownPub = makeNotification({ privateKey: pub.privateKey, serial: 'PUB_KEY_ID_0999' });
    expect(await rejection(verifier.verify(unknownPub))).toBeInstanceOf(UnknownSerialError);
  });

  it.each(['Wechatpay-Serial', 'Wechatpay-Signature', 'Wechatpay-Timestamp', 'Wechatpay-Nonce'])(
    'rejects a notification without %s with MissingHeaderError',
    async (header) => {
      const n = makeNotification({ privateKey: cert.privateKey, serial: cert.serial });
      const headers: Record<string, string> = { ...n.headers };
      delete headers[header];
      const error = await rejection(verifier.verify({ headers, body: n.body }));
      expect(error).toBeInstanceOf(MissingHeaderError);
      expect(error.code).toBe('MISSING_HEADER');
      expect((error as MissingHeaderError).header).toBe(header);
      const blank = await rejection(
        verifier.verify({ headers: { ...n.headers, [header]: ' ' }, body: n.body }),
      );
      expect(blank).toBeInstanceOf(MissingHeaderError);
    },
  );

  it('rejects malformed timestamps, repeated headers and parsed bodies with MalformedError', async () => {
    const n = makeNotification({ privateKey: cert.privateKey, serial: cert.serial });
    const cases: Array<{ headers: Record<string, string | string[]>; body: unknown }> = [
      { headers: { ...n.headers, 'Wechatpay-Timestamp': `${NOW_S}.5` }, body: n.body },
      { headers: { ...n.headers, 'Wechatpay-Timestamp': `-${NOW_S}` }, body: n.body },
      {
        headers: { ...n.headers, 'Wechatpay-Signature': [n.headers['Wechatpay-Signature'] as string, 'x'] },
        body: n.body,
      },
      { headers: n.headers, body: JSON.parse(n.body) },
    ];
    for (const c of cases) {
      const error = await rejection(verifier.verify(c as never));
      expect(error).toBeInstanceOf(MalformedError);
      expect(error.code).toBe('MALFORMED');
    }
  });

  it('rejects a correctly signed body that is not a notification with MalformedError', async () => {
    for (const body of ['not json', '{"id":"x"}', '\xff']) {
      const headers = buildSignedHeaders({
        privateKey: cert.privateKey,
        serial: cert.serial,
        body,
        timestamp: NOW_S,
      });
      expect(await rejection(verifier.verify({ headers, body }))).toBeInstanceOf(MalformedError);
    }
    const mismatched = makeNotification({
      privateKey: cert.privateKey,
      serial: cert.serial,
      eventType: 'REFUND.SUCCESS',
      originalType: 'transaction',
    });
    expect(await rejection(verifier.verify(mismatched))).toBeInstanceOf(MalformedError);
    const unpaidShape = makeNotification({
      privateKey: cert.privateKey,
      serial: cert.serial,
      data: transactionResource({ transaction_id: undefined }),
    });
    expect(await rejection(verifier.verify(unpaidShape))).toBeInstanceOf(MalformedError);
    // Signed by WeChat Pay: unreadable, not junk (the gateway's SLO counts it).
    for (const n of [mismatched, unpaidShape])
      expect(await rejection(verifier.verify(n))).toBeInstanceOf(UnreadableNotificationError);
  });

  it('says a malformed request that was never verified is not an unreadable notification', async () => {
    const n = makeNotification({ privateKey: cert.privateKey, serial: cert.serial });
    const error = await rejection(
      verifier.verify({ headers: { ...n.headers, 'Wechatpay-Timestamp': `${NOW_S}.5` }, body: n.body }),
    );
    expect(error).toBeInstanceOf(MalformedError);
    expect(error).not.toBeInstanceOf(UnreadableNotificationError);
  });

  it('refuses to construct with an APIv3 key that is not 32 bytes', () => {
    expect(() => new NotificationVerifier({ keys, apiV3Key: 'short', clock })).toThrow(
      expect.objectContaining({ code: 'INVALID_KEY' }),
    );
  });
});
