import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BadSignatureError,
  DecryptFailedError,
  type KeyStoreEvent,
  MissingHeaderError,
  NotificationVerifier,
  StaleTimestampError,
  UnknownSerialError,
  VerificationKeyStore,
  type WeChatPayClient,
} from '@paysync/wechatpay';
import { type Sandbox, startSandbox } from '../../src/index.ts';
import {
  clientFor,
  createNativeOrder,
  merchantOf,
  type Received,
  type Receiver,
  startReceiver,
  staticVerifier,
} from './support.ts';

let sandbox: Sandbox;
let receiver: Receiver;
let client: WeChatPayClient;

beforeAll(async () => {
  sandbox = await startSandbox({ keyMode: 'both', timeScale: 0.0001 });
  receiver = await startReceiver();
  client = clientFor(sandbox);
});

afterAll(async () => {
  await client.close();
  await sandbox.close();
  await receiver.close();
});

/** Creates an order, has the user pay it, and returns the notification as the receiver got it. */
async function paidNotification(): Promise<{ outTradeNo: string; received: Received }> {
  const before = receiver.received.length;
  const outTradeNo = await createNativeOrder(client, sandbox, receiver.url);
  sandbox.pay(outTradeNo);
  await sandbox.idle();
  const received = receiver.received[before];
  if (!received) throw new Error('no notification arrived');
  return { outTradeNo, received };
}

describe('sandbox notifications verified by @paysync/wechatpay', () => {
  it('verifies and decrypts a payment notification into the paid transaction', async () => {
    const { outTradeNo, received } = await paidNotification();
    const result = await staticVerifier(sandbox).verify(received);
    expect(result.kind).toBe('transaction');
    if (result.kind !== 'transaction') return;
    const order = sandbox.order(outTradeNo);
    expect(result.eventType).toBe('TRANSACTION.SUCCESS');
    expect(result.serial).toBe(sandbox.keys().signingSerial);
    expect(result.transaction).toMatchObject({
      out_trade_no: outTradeNo,
      mchid: merchantOf(sandbox).mchid,
      appid: merchantOf(sandbox).appid,
      trade_state: 'SUCCESS',
      trade_type: 'NATIVE',
      transaction_id: order.transaction_id,
      amount: { total: 1000, payer_total: 1000, currency: 'CNY' },
    });
    expect(result.transaction.success_time).toMatch(/\+08:00$/);
    expect(result.transaction.payer?.openid).toMatch(/^o/);
    const envelope = JSON.parse(received.body.toString('utf8'));
    expect(envelope.resource.nonce).toHaveLength(12);
    expect(envelope).toMatchObject({ resource_type: 'encrypt-resource', summary: '支付成功' });
    expect(received.headers['wechatpay-signature-type']).toBe('WECHATPAY2-SHA256-RSA2048');
    expect(received.headers['request-id']).toBeTruthy();
  });

  it('rejects a body changed after signing as a bad signature', async () => {
    const { received } = await paidNotification();
    const body = Buffer.from(received.body.toString('utf8').replace('"支付成功"', '"支付失败"'));
    await expect(staticVerifier(sandbox).verify({ ...received, body })).rejects.toBeInstanceOf(
      BadSignatureError,
    );
  });

  it('rejects a ciphertext changed in transit by its signature, before decrypting', async () => {
    const { received } = await paidNotification();
    const envelope = JSON.parse(received.body.toString('utf8'));
    const raw = Buffer.from(envelope.resource.ciphertext, 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] as number) ^ 0xff;
    envelope.resource.ciphertext = raw.toString('base64');
    const body = Buffer.from(JSON.stringify(envelope));
    await expect(staticVerifier(sandbox).verify({ ...received, body })).rejects.toBeInstanceOf(
      BadSignatureError,
    );
  });

  it('rejects a correctly signed resource whose GCM tag is wrong as a decryption failure', async () => {
    sandbox.setFaults({ corruptNextNotificationResources: 1 });
    const { received } = await paidNotification();
    await expect(staticVerifier(sandbox).verify(received)).rejects.toBeInstanceOf(DecryptFailedError);
  });

  it('rejects a notification decrypted with the wrong APIv3 key as a decryption failure', async () => {
    const { received } = await paidNotification();
    const verifier = staticVerifier(sandbox, { apiV3Key: 'X'.repeat(32) });
    await expect(verifier.verify(received)).rejects.toBeInstanceOf(DecryptFailedError);
  });

  it('rejects timestamps 301 s in the past and 301 s in the future as stale', async () => {
    try {
      for (const skew of [-301, 301]) {
        sandbox.setFaults({ notificationSkewSeconds: skew });
        const { received } = await paidNotification();
        const error = await staticVerifier(sandbox)
          .verify(received)
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StaleTimestampError);
        expect(Math.abs((error as StaleTimestampError).skewSeconds)).toBeGreaterThanOrEqual(300);
      }
    } finally {
      sandbox.setFaults({ notificationSkewSeconds: 0 });
    }
  });

  it('accepts a notification verified 299 s after it was signed', async () => {
    const { received } = await paidNotification();
    const signedAt = Number(received.headers['wechatpay-timestamp']) * 1000;
    const verifier = staticVerifier(sandbox, { clock: () => signedAt + 299_000 });
    await expect(verifier.verify(received)).resolves.toMatchObject({ kind: 'transaction' });
  });

  it('rejects a serial the verifier has no key for', async () => {
    const { received } = await paidNotification();
    const publicKey = sandbox.keys().publicKey;
    if (!publicKey) throw new Error('keyMode both has a public key');
    const verifier = new NotificationVerifier({
      keys: new VerificationKeyStore({ publicKeys: [{ id: publicKey.id, key: publicKey.publicKeyPem }] }),
      apiV3Key: merchantOf(sandbox).apiV3Key,
    });
    await expect(verifier.verify(received)).rejects.toBeInstanceOf(UnknownSerialError);
  });

  it('rejects WeChat signature probes (WECHATPAY/SIGNTEST/) and counts them', async () => {
    const probesBefore = sandbox.counters().notifications.probes;
    sandbox.setFaults({ probeNextNotifications: 1 });
    receiver.answer = (_index, received) =>
      String(received.headers['wechatpay-signature']).startsWith('WECHATPAY/SIGNTEST/') ? 401 : 204;
    try {
      const { outTradeNo, received } = await paidNotification();
      expect(String(received.headers['wechatpay-signature'])).toMatch(/^WECHATPAY\/SIGNTEST\//);
      await expect(staticVerifier(sandbox).verify(received)).rejects.toBeInstanceOf(BadSignatureError);
      expect(sandbox.counters().notifications.probes).toBe(probesBefore + 1);
      // The probe was answered 4xx, so WeChat retried with a real signature, which was acknowledged.
      const [record] = sandbox.notifications({ outTradeNo });
      expect(record?.attempts.map((a) => [a.probe, a.outcome])).toEqual([
        [true, 'rejected'],
        [false, 'acknowledged'],
      ]);
    } finally {
      receiver.answer = () => 204;
    }
  });

  it('rejects a notification missing any one of the signing headers, naming it', async () => {
    const { received } = await paidNotification();
    for (const header of [
      'wechatpay-serial',
      'wechatpay-signature',
      'wechatpay-timestamp',
      'wechatpay-nonce',
    ]) {
      const headers = { ...received.headers };
      delete headers[header];
      const error = await staticVerifier(sandbox)
        .verify({ headers, body: received.body })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MissingHeaderError);
      expect((error as MissingHeaderError).header.toLowerCase()).toBe(header);
    }
  });
});

describe('key rotation and the public key', () => {
  it('accepts a notification signed with a rotated-in certificate after one certificate refresh', async () => {
    const events: KeyStoreEvent[] = [];
    const keys = new VerificationKeyStore({
      download: () => client.downloadCertificates(),
      unknownSerialCooldownMs: 0,
      onEvent: (event) => events.push(event),
    });
    await keys.start();
    try {
      const verifier = new NotificationVerifier({ keys, apiV3Key: merchantOf(sandbox).apiV3Key });
      const oldSerial = sandbox.keys().signingSerial;
      const rotated = await sandbox.rotateCertificate();
      expect(rotated.serialNo).toMatch(/^[0-9A-F]{40}$/);
      expect(rotated.serialNo).not.toBe(oldSerial);
      expect(sandbox.keys().certificates.map((c) => c.serialNo)).toEqual([oldSerial, rotated.serialNo]);

      const { received } = await paidNotification();
      expect(received.headers['wechatpay-serial']).toBe(rotated.serialNo);
      const result = await verifier.verify(received);
      expect(result.serial).toBe(rotated.serialNo);
      expect(events.filter((e) => e.reason === 'unknown_serial')).toEqual([
        expect.objectContaining({ outcome: 'ok', certificates: 2 }),
      ]);
      // A second notification with the new serial needs no further refresh.
      await verifier.verify((await paidNotification()).received);
      expect(events.filter((e) => e.reason === 'unknown_serial')).toHaveLength(1);
    } finally {
      keys.stop();
    }
  });

  it('keeps signing with the old certificate until a manually activated rotation takes effect', async () => {
    const current = sandbox.keys().signingSerial;
    const next = await sandbox.rotateCertificate({ activate: 'manual' });
    expect((await paidNotification()).received.headers['wechatpay-serial']).toBe(current);
    sandbox.activateCertificate(next.serialNo);
    expect((await paidNotification()).received.headers['wechatpay-serial']).toBe(next.serialNo);
  });

  it('verifies certificate-signed and public-key-signed notifications side by side', async () => {
    const publicKey = sandbox.keys().publicKey;
    if (!publicKey) throw new Error('keyMode both has a public key');
    const keys = new VerificationKeyStore({
      download: () => client.downloadCertificates(),
      publicKeys: [{ id: publicKey.id, key: publicKey.publicKeyPem }],
    });
    await keys.start();
    try {
      const verifier = new NotificationVerifier({ keys, apiV3Key: merchantOf(sandbox).apiV3Key });
      sandbox.useCertificate();
      const byCertificate = (await paidNotification()).received;
      await sandbox.usePublicKey();
      const byPublicKey = (await paidNotification()).received;
      sandbox.useCertificate();
      expect(byCertificate.headers['wechatpay-serial']).toMatch(/^[0-9A-F]{40}$/);
      expect(byPublicKey.headers['wechatpay-serial']).toBe(publicKey.id);
      expect(publicKey.id).toMatch(/^PUB_KEY_ID_\d+$/);
      await expect(verifier.verify(byCertificate)).resolves.toMatchObject({ kind: 'transaction' });
      await expect(verifier.verify(byPublicKey)).resolves.toMatchObject({ kind: 'transaction' });
    } finally {
      keys.stop();
    }
  });
});
