import { afterEach, describe, expect, it, jest } from '@jest/globals';
import {
  CertificateError,
  DecryptFailedError,
  decodeCertificatesBody,
  InvalidConfigError,
  type KeyStoreEvent,
  MalformedError,
  type PlatformCertificate,
  VerificationKeyStore,
  WeChatPayApiError,
} from '../../src/index.ts';
import { certificatesBody } from '../support/certificates-body.ts';
import { API_V3_KEY, makeCertificate, nextSerial, rsaPair } from '../support/keys.ts';

const certA = await makeCertificate(nextSerial());
const certB = await makeCertificate(nextSerial());
const expired = await makeCertificate(nextSerial(), {
  notBefore: new Date('2020-01-01T00:00:00Z'),
  notAfter: new Date('2021-01-01T00:00:00Z'),
});

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('decodeCertificatesBody', () => {
  it('decrypts each certificate and keys it by its upper-case serial', () => {
    const certs = decodeCertificatesBody(certificatesBody([certA, certB]), API_V3_KEY);
    expect(certs.map((c) => c.serialNo)).toEqual([certA.serial, certB.serial]);
    expect(certs[0]?.publicKey.equals(certA.publicKey)).toBe(true);
    expect(certs[0]?.expireTime).toBe('2030-01-01T00:00:00+08:00');
  });

  it('rejects a certificate whose serial differs from its serial_no', () => {
    expect(() =>
      decodeCertificatesBody(certificatesBody([certA], { serialOverride: certB.serial }), API_V3_KEY),
    ).toThrow(CertificateError);
  });

  it('rejects a wrong APIv3 key with DecryptFailedError and a wrong associated_data as malformed', () => {
    expect(() => decodeCertificatesBody(certificatesBody([certA]), 'y'.repeat(32))).toThrow(
      DecryptFailedError,
    );
    expect(() =>
      decodeCertificatesBody(certificatesBody([certA], { associatedData: 'other' }), API_V3_KEY),
    ).toThrow(MalformedError);
    expect(() => decodeCertificatesBody('{"data":[{}]}', API_V3_KEY)).toThrow(MalformedError);
  });
});

describe('VerificationKeyStore', () => {
  const stores: VerificationKeyStore[] = [];
  const track = (store: VerificationKeyStore): VerificationKeyStore => {
    stores.push(store);
    return store;
  };
  afterEach(() => {
    for (const store of stores.splice(0)) store.stop();
    jest.useRealTimers();
  });

  it('refreshes once, single flight, when several messages name an unknown serial at once', async () => {
    const gate = deferred<PlatformCertificate[]>();
    let downloads = 0;
    const store = track(
      new VerificationKeyStore({
        download: () => {
          downloads++;
          return gate.promise;
        },
      }),
    );
    const lookups = [store.getKey(certB.serial), store.getKey(certB.serial), store.getKey(certB.serial)];
    gate.resolve([certA.platform, certB.platform]);
    const keys = await Promise.all(lookups);
    expect(downloads).toBe(1);
    for (const key of keys) expect(key?.equals(certB.publicKey)).toBe(true);
  });

  it('rejects a serial still unknown after the refresh, and waits out the cool-down before refreshing again', async () => {
    let now = Date.parse('2026-01-15T00:00:00Z');
    let downloads = 0;
    const store = track(
      new VerificationKeyStore({
        download: async () => {
          downloads++;
          return [certA.platform];
        },
        unknownSerialCooldownMs: 60_000,
        clock: () => now,
      }),
    );
    expect(await store.getKey('4'.repeat(40))).toBeUndefined();
    expect(await store.getKey('4'.repeat(40))).toBeUndefined();
    expect(downloads).toBe(1);
    now += 60_000;
    expect(await store.getKey('4'.repeat(40))).toBeUndefined();
    expect(downloads).toBe(2);
    expect((await store.getKey(certA.serial))?.equals(certA.publicKey)).toBe(true);
    expect(downloads).toBe(2);
  });

  it('never refreshes certificates for an unknown public-key id', async () => {
    let downloads = 0;
    const store = track(
      new VerificationKeyStore({
        download: async () => {
          downloads++;
          return [];
        },
        publicKeys: [{ id: 'PUB_KEY_ID_0001', key: rsaPair().publicKey }],
      }),
    );
    expect(await store.getKey('PUB_KEY_ID_0002')).toBeUndefined();
    expect(await store.getKey('PUB_KEY_ID_0001')).toBeDefined();
    expect(downloads).toBe(0);
  });

  it('treats RESOURCE_NOT_EXISTS from /v3/certificates as a public-key-only merchant, not a failure', async () => {
    const events: KeyStoreEvent[] = [];
    const store = track(
      new VerificationKeyStore({
        download: async () => {
          throw new WeChatPayApiError({
            status: 404,
            wechatCode: 'RESOURCE_NOT_EXISTS',
            wechatMessage: undefined,
            verified: false,
          });
        },
        publicKeys: [{ id: 'PUB_KEY_ID_0001', key: rsaPair().publicKey }],
        onEvent: (e) => events.push(e),
      }),
    );
    await expect(store.start()).resolves.toBeUndefined();
    expect(events).toEqual([{ type: 'refresh', reason: 'start', outcome: 'not_available', certificates: 0 }]);
  });

  it('keeps the certificates it has when a refresh fails, and reports the failure', async () => {
    const events: KeyStoreEvent[] = [];
    let fail = false;
    const store = track(
      new VerificationKeyStore({
        download: async () => {
          if (fail) throw new DecryptFailedError();
          return [certA.platform];
        },
        onEvent: (e) => events.push(e),
      }),
    );
    await store.start();
    fail = true;
    expect(await store.refresh()).toBe('failed');
    expect(store.peekKey(certA.serial)).toBeDefined();
    expect(events.at(-1)).toEqual({
      type: 'refresh',
      reason: 'manual',
      outcome: 'failed',
      certificates: 1,
      errorCode: 'DECRYPT_FAILED',
    });
  });

  it('replaces the set on refresh so a rotated-in certificate verifies and a retired one does not', async () => {
    let current = [certA.platform];
    const store = track(new VerificationKeyStore({ download: async () => current }));
    await store.start();
    current = [certB.platform];
    await store.refresh();
    expect(store.serials().certificates).toEqual([certB.serial]);
    expect(store.peekKey(certA.serial)).toBeUndefined();
  });

  it('refreshes on the configured interval', async () => {
    jest.useFakeTimers({ now: Date.parse('2026-01-15T00:00:00Z') });
    let downloads = 0;
    const store = track(
      new VerificationKeyStore({
        download: async () => {
          downloads++;
          return [certA.platform];
        },
        refreshIntervalMs: 60 * 60 * 1000,
      }),
    );
    await store.start();
    expect(downloads).toBe(1);
    await jest.advanceTimersByTimeAsync(2 * 60 * 60 * 1000);
    expect(downloads).toBe(3);
  });

  it('ignores an expired certificate', () => {
    const store = track(new VerificationKeyStore({ certificates: [expired.platform] }));
    expect(store.peekKey(expired.serial)).toBeUndefined();
  });

  it('refuses refresh intervals of 12 hours or more, bad public-key ids, and starting with no keys at all', async () => {
    expect(() => new VerificationKeyStore({ refreshIntervalMs: 12 * 60 * 60 * 1000 })).toThrow(
      InvalidConfigError,
    );
    expect(
      () => new VerificationKeyStore({ publicKeys: [{ id: 'KEY_1', key: rsaPair().publicKey }] }),
    ).toThrow(InvalidConfigError);
    const empty = track(new VerificationKeyStore({ download: async () => [] }));
    await expect(empty.start()).rejects.toBeInstanceOf(InvalidConfigError);
  });
});
