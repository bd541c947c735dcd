import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError, type ConfigIssue, loadConfig } from '@paysync/config';
import { z } from 'zod';
import {
  CircuitOpenError,
  createWeChatClient,
  loadWeChatPaySecrets,
  readWeChatPaySecrets,
  ServerError,
  VerificationKeyStore,
  type WeChatPayClient,
  type WeChatPayEnv,
  wechatPayEnvShape,
} from '../../src/index.ts';
import { API_V3_KEY, makeCertificate, nextSerial, rsaPair } from '../support/keys.ts';
import { type Reply, startWireServer, type WireServer } from '../support/wire-server.ts';

const schema = z.object(wechatPayEnvShape);
const merchant = rsaPair();
const platform = await makeCertificate(nextSerial());
const PRIVATE_KEY_PEM = merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_KEY_PEM = platform.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const PUBLIC_KEY_ID = 'PUB_KEY_ID_0114232134912410000000000000';

let dir: string;
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wechatpay-env-'));
  await writeFile(file('key.pem'), PRIVATE_KEY_PEM);
  await writeFile(file('pub.pem'), PUBLIC_KEY_PEM);
  await writeFile(file('apiv3'), `${API_V3_KEY}\n`);
  await writeFile(file('apiv3-short'), 'short-apiv3-secret-31-bytes-xyz');
  await writeFile(file('apiv3-long'), `${API_V3_KEY}!`);
  await writeFile(file('apiv3-multibyte'), 'é'.repeat(16)); // 16 characters, 32 bytes
  await writeFile(file('not-a-key.pem'), 'SECRET-GARBAGE-NOT-A-PEM');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function parseEnv(vars: Record<string, string | undefined>): WeChatPayEnv {
  return loadConfig('test', schema, {
    WECHATPAY_MCHID: '1900009191',
    WECHATPAY_MERCHANT_SERIAL_NO: '408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB',
    WECHATPAY_PRIVATE_KEY_FILE: file('key.pem'),
    WECHATPAY_API_V3_KEY_FILE: file('apiv3'),
    ...vars,
  });
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('wechatPayEnvShape', () => {
  it('parses every WECHATPAY_* variable into typed settings', () => {
    const env = parseEnv({
      WECHATPAY_PUBLIC_KEY_ID: PUBLIC_KEY_ID,
      WECHATPAY_PUBLIC_KEY_FILE: file('pub.pem'),
      WECHATPAY_BASE_URLS: ' http://127.0.0.1:8000 , http://127.0.0.1:8001 ',
      WECHATPAY_ALLOW_INSECURE_HTTP: 'true',
      WECHATPAY_TIMEOUT: '2500ms',
      WECHATPAY_RETRIES: '4',
      WECHATPAY_BREAKER_VOLUME: '7',
      WECHATPAY_BREAKER_ERROR_PERCENT: '30',
      WECHATPAY_BREAKER_RESET: '1m',
    });
    expect(env).toEqual({
      WECHATPAY_MCHID: '1900009191',
      WECHATPAY_MERCHANT_SERIAL_NO: '408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB',
      WECHATPAY_PRIVATE_KEY_FILE: file('key.pem'),
      WECHATPAY_API_V3_KEY_FILE: file('apiv3'),
      WECHATPAY_PUBLIC_KEY_ID: PUBLIC_KEY_ID,
      WECHATPAY_PUBLIC_KEY_FILE: file('pub.pem'),
      WECHATPAY_BASE_URLS: ['http://127.0.0.1:8000', 'http://127.0.0.1:8001'],
      WECHATPAY_ALLOW_INSECURE_HTTP: true,
      WECHATPAY_TIMEOUT: 2500,
      WECHATPAY_RETRIES: 4,
      WECHATPAY_BREAKER_VOLUME: 7,
      WECHATPAY_BREAKER_ERROR_PERCENT: 30,
      WECHATPAY_BREAKER_RESET: 60_000,
    });
  });

  it('fills in the production defaults: both WeChat hosts, https only, 5 s, 2 retries', () => {
    const env = parseEnv({});
    expect(env.WECHATPAY_BASE_URLS).toEqual([
      'https://api.mch.weixin.qq.com',
      'https://api2.mch.weixin.qq.com',
    ]);
    expect(env.WECHATPAY_ALLOW_INSECURE_HTTP).toBe(false);
    expect(env.WECHATPAY_TIMEOUT).toBe(5000);
    expect(env.WECHATPAY_RETRIES).toBe(2);
    expect(env.WECHATPAY_PUBLIC_KEY_ID).toBeUndefined();
  });

  it('refuses a merchant id that is not 6 to 32 digits', () => {
    for (const mchid of ['19000x9191', '12345', '1'.repeat(33)]) {
      const err = configError(() => parseEnv({ WECHATPAY_MCHID: mchid }));
      expect(err.issues.map((i) => i.variable)).toEqual(['WECHATPAY_MCHID']);
    }
  });

  it('refuses a public key id without the PUB_KEY_ID_ prefix and retries beyond 5', () => {
    const err = configError(() => parseEnv({ WECHATPAY_PUBLIC_KEY_ID: '0114', WECHATPAY_RETRIES: '6' }));
    expect(err.issues.map((i) => i.variable).sort()).toEqual([
      'WECHATPAY_PUBLIC_KEY_ID',
      'WECHATPAY_RETRIES',
    ]);
  });
});

describe('loadWeChatPaySecrets', () => {
  it('reads the key files, dropping one trailing newline', () => {
    const secrets = loadWeChatPaySecrets(
      'test',
      parseEnv({ WECHATPAY_PUBLIC_KEY_ID: PUBLIC_KEY_ID, WECHATPAY_PUBLIC_KEY_FILE: file('pub.pem') }),
    );
    expect(secrets).toEqual({
      privateKeyPem: PRIVATE_KEY_PEM.replace(/\n$/, ''),
      apiV3Key: API_V3_KEY,
      publicKeyPem: PUBLIC_KEY_PEM.replace(/\n$/, ''),
    });
  });

  it('reports every problem at once without showing any file content', () => {
    const err = configError(() =>
      loadWeChatPaySecrets(
        'some-component',
        parseEnv({
          WECHATPAY_PRIVATE_KEY_FILE: file('not-a-key.pem'),
          WECHATPAY_API_V3_KEY_FILE: file('apiv3-short'),
          WECHATPAY_PUBLIC_KEY_ID: PUBLIC_KEY_ID,
        }),
      ),
    );
    expect(err.message).toMatch(/^some-component: invalid configuration/);
    expect(err.issues).toEqual([
      { variable: 'WECHATPAY_PRIVATE_KEY_FILE', message: 'is not a readable RSA private key (PEM)' },
      { variable: 'WECHATPAY_API_V3_KEY_FILE', message: 'the APIv3 key must be exactly 32 bytes' },
      {
        variable: 'WECHATPAY_PUBLIC_KEY_ID',
        message: 'WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY_FILE go together',
      },
    ]);
    expect(err.message).not.toContain('SECRET-GARBAGE');
    expect(err.message).not.toContain('short-apiv3-secret');
  });

  it('names each unreadable file by its path and error code', () => {
    const err = configError(() =>
      loadWeChatPaySecrets(
        'test',
        parseEnv({
          WECHATPAY_PRIVATE_KEY_FILE: file('missing-key.pem'),
          WECHATPAY_API_V3_KEY_FILE: file('missing-apiv3'),
          WECHATPAY_PUBLIC_KEY_ID: PUBLIC_KEY_ID,
          WECHATPAY_PUBLIC_KEY_FILE: dir, // a directory: EISDIR
        }),
      ),
    );
    expect(err.issues).toEqual([
      { variable: 'WECHATPAY_PRIVATE_KEY_FILE', message: `cannot read ${file('missing-key.pem')} (ENOENT)` },
      { variable: 'WECHATPAY_API_V3_KEY_FILE', message: `cannot read ${file('missing-apiv3')} (ENOENT)` },
      { variable: 'WECHATPAY_PUBLIC_KEY_FILE', message: `cannot read ${dir} (EISDIR)` },
    ]);
  });

  it('takes an APIv3 key of exactly 32 bytes, counted in UTF-8 bytes rather than characters', () => {
    expect(loadWeChatPaySecrets('test', parseEnv({})).apiV3Key).toBe(API_V3_KEY);
    expect(
      loadWeChatPaySecrets('test', parseEnv({ WECHATPAY_API_V3_KEY_FILE: file('apiv3-multibyte') })).apiV3Key,
    ).toBe('é'.repeat(16));
    for (const name of ['apiv3-short', 'apiv3-long']) {
      const err = configError(() =>
        loadWeChatPaySecrets('test', parseEnv({ WECHATPAY_API_V3_KEY_FILE: file(name) })),
      );
      expect(err.issues).toEqual([
        { variable: 'WECHATPAY_API_V3_KEY_FILE', message: 'the APIv3 key must be exactly 32 bytes' },
      ]);
    }
  });

  it('adds to a caller’s own issues and still returns the secrets when the key files are fine', () => {
    const issues: ConfigIssue[] = [{ variable: 'OTHER', message: 'a problem of the caller' }];
    expect(readWeChatPaySecrets(parseEnv({}), issues)?.apiV3Key).toBe(API_V3_KEY);
    expect(
      readWeChatPaySecrets(parseEnv({ WECHATPAY_API_V3_KEY_FILE: file('apiv3-long') }), issues),
    ).toBeUndefined();
    expect(issues.map((i) => i.variable)).toEqual(['OTHER', 'WECHATPAY_API_V3_KEY_FILE']);
  });
});

const busy = (): Reply => ({ status: 500, body: '{"code":"SYSTEM_ERROR","message":"busy"}' });
let handle: () => Reply = busy;
const server: WireServer = await startWireServer({
  merchantPublicKey: merchant.publicKey,
  signingKey: platform.privateKey,
  serial: platform.serial,
  handle: () => handle(),
});
afterAll(() => server.close());

describe('createWeChatClient', () => {
  const clients: WeChatPayClient[] = [];

  function client(vars: Record<string, string>, opts: { userAgent?: string } = {}): WeChatPayClient {
    const env = parseEnv({ WECHATPAY_BASE_URLS: server.url, WECHATPAY_ALLOW_INSECURE_HTTP: 'true', ...vars });
    const c = createWeChatClient(env, loadWeChatPaySecrets('test', env), {
      ...opts,
      keys: new VerificationKeyStore({ certificates: [platform.platform] }),
    });
    clients.push(c);
    return c;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    server.seen.length = 0;
    handle = busy;
  });

  it('retries a 5xx as often as WECHATPAY_RETRIES says', async () => {
    await expect(
      client({ WECHATPAY_RETRIES: '0' }).queryByOutTradeNo('RECHARGE_0001'),
    ).rejects.toBeInstanceOf(ServerError);
    expect(server.seen).toHaveLength(1);
    server.seen.length = 0;
    await expect(
      client({ WECHATPAY_RETRIES: '2' }).queryByOutTradeNo('RECHARGE_0001'),
    ).rejects.toBeInstanceOf(ServerError);
    expect(server.seen).toHaveLength(3);
  });

  it('opens the breaker after WECHATPAY_BREAKER_VOLUME failing calls', async () => {
    const c = client({
      WECHATPAY_RETRIES: '0',
      WECHATPAY_BREAKER_VOLUME: '2',
      WECHATPAY_BREAKER_ERROR_PERCENT: '50',
    });
    for (let i = 0; i < 2; i++) {
      await expect(c.queryByOutTradeNo('RECHARGE_0001')).rejects.toBeInstanceOf(ServerError);
    }
    await expect(c.queryByOutTradeNo('RECHARGE_0001')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(server.seen).toHaveLength(2);
  });

  it('signs as the configured merchant, in public-key mode, with the given user agent', async () => {
    handle = () => ({ status: 204 });
    await client(
      { WECHATPAY_PUBLIC_KEY_ID: PUBLIC_KEY_ID, WECHATPAY_PUBLIC_KEY_FILE: file('pub.pem') },
      { userAgent: 'paysync-test/1.0' },
    ).closeOrder('RECHARGE_0001');
    const [seen] = server.seen;
    expect(seen?.signatureValid).toBe(true);
    expect(seen?.headers.authorization).toContain('mchid="1900009191"');
    expect(seen?.headers.authorization).toContain('serial_no="408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"');
    expect(seen?.headers['wechatpay-serial']).toBe(PUBLIC_KEY_ID);
    expect(seen?.headers['user-agent']).toBe('paysync-test/1.0');
  });
});
