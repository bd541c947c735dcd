import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '@paysync/config';
import { createLogger, createRegistry, EXIT_CODES } from '@paysync/observability';
import { loadGatewayConfig } from '../../src/config.ts';
import { createGatewayMetrics } from '../../src/metrics.ts';
import { CALLBACK_PATH } from '../../src/notify-url.ts';
import { enforceNotifyUrl, NotifyUrlRejectedError } from '../../src/startup.ts';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
let dir: string;
let env: Record<string, string>;
/** `env` as production wants it: every secret from a file. */
let prod: Record<string, string>;
const TOKEN = randomBytes(24).toString('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-startup-'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(join(dir, 'apiv3'), `${'k'.repeat(32)}\n`);
  await writeFile(join(dir, 'short'), 'too-short');
  env = {
    MYSQL_URL: 'mysql://paysync:secret-db-password@127.0.0.1:1/paysync',
    KAFKA_BROKERS: '127.0.0.1:1',
    WECHATPAY_MCHID: '1900009191',
    WECHATPAY_APPID: 'wxd678efh567hg6787,wx0ther',
    WECHATPAY_MERCHANT_SERIAL_NO: '408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB',
    WECHATPAY_PRIVATE_KEY_FILE: join(dir, 'key.pem'),
    WECHATPAY_API_V3_KEY_FILE: join(dir, 'apiv3'),
    WECHATPAY_NOTIFY_URL: `https://pay.example.com${CALLBACK_PATH}`,
    GATEWAY_API_TOKEN: TOKEN,
  };
  await writeFile(join(dir, 'db-password'), 'secret-db-password\n');
  await writeFile(join(dir, 'api-token'), `${TOKEN}\n`);
  const { MYSQL_URL: _url, GATEWAY_API_TOKEN: _token, ...rest } = env;
  // Production runs the order service and the receiver apart, and Kafka plaintext only when told.
  prod = {
    ...rest,
    GATEWAY_ROLE: 'orders',
    KAFKA_ALLOW_PLAINTEXT: 'true',
    PAYSYNC_MODE: 'production',
    MYSQL_URL: 'mysql://paysync@127.0.0.1:1/paysync',
    MYSQL_PASSWORD_FILE: join(dir, 'db-password'),
    GATEWAY_API_TOKEN_FILE: join(dir, 'api-token'),
  };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function silentMetrics() {
  return createGatewayMetrics(createRegistry('callback-gateway', { processMetrics: false }));
}

describe('configuration', () => {
  it('reads secrets from files and parses lists and durations', () => {
    const config = loadGatewayConfig({ ...env, GATEWAY_KAFKA_PUBLISH_TIMEOUT: '2500ms' });
    expect(config.secrets.apiV3Key).toBe('k'.repeat(32));
    expect(config.secrets.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    expect(config.WECHATPAY_APPID).toEqual(['wxd678efh567hg6787', 'wx0ther']);
    expect(config.GATEWAY_KAFKA_PUBLISH_TIMEOUT).toBe(2500);
    expect(config.production).toBe(false);
  });

  it('refuses a publish timeout that would not leave room inside WeChat’s 5 s', () => {
    expect(() => loadGatewayConfig({ ...env, GATEWAY_KAFKA_PUBLISH_TIMEOUT: '5s' })).toThrow(ConfigError);
  });

  it('refuses an APIv3 key that is not 32 bytes, without showing it', () => {
    try {
      loadGatewayConfig({ ...env, WECHATPAY_API_V3_KEY_FILE: join(dir, 'short') });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain('WECHATPAY_API_V3_KEY_FILE');
      expect((err as Error).message).not.toContain('too-short');
    }
  });

  it('refuses http WeChat Pay origins in production mode', () => {
    expect(() => loadGatewayConfig({ ...prod, WECHATPAY_ALLOW_INSECURE_HTTP: 'true' })).toThrow(
      /WECHATPAY_ALLOW_INSECURE_HTTP/,
    );
    expect(() => loadGatewayConfig({ ...prod, WECHATPAY_BASE_URLS: 'http://127.0.0.1:9999' })).toThrow(
      /WECHATPAY_BASE_URLS: http:\/\/127\.0\.0\.1:9999\/?: a local sandbox origin is refused in production mode/,
    );
    const { PAYSYNC_MODE: _mode, ...byNodeEnv } = prod;
    expect(loadGatewayConfig({ ...byNodeEnv, NODE_ENV: 'production' }).production).toBe(true);
  });

  it('reads the tokens and the database password from files; production refuses them inline, naming the variable, never the value', () => {
    const config = loadGatewayConfig(prod);
    expect(config.GATEWAY_API_TOKEN).toBe(TOKEN);
    expect(config.MYSQL_URL).toBe('mysql://paysync:secret-db-password@127.0.0.1:1/paysync');
    expect(config.warnings).toEqual([]);
    try {
      loadGatewayConfig({
        ...env,
        GATEWAY_ROLE: 'orders',
        KAFKA_ALLOW_PLAINTEXT: 'true',
        PAYSYNC_MODE: 'production',
        GATEWAY_API_READ_TOKEN: `r${TOKEN}`,
      });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.variable)).toEqual([
        'MYSQL_URL',
        'GATEWAY_API_TOKEN',
        'GATEWAY_API_READ_TOKEN',
      ]);
      expect((err as Error).message).toMatch(
        /GATEWAY_API_TOKEN: holds a secret inline, refused in production mode/,
      );
      expect((err as Error).message).not.toContain(TOKEN);
      expect((err as Error).message).not.toContain('secret-db-password');
    }
    // Development: allowed, with a warning per variable (logged at start-up).
    expect(loadGatewayConfig(env).warnings.map((w) => w.variable)).toEqual([
      'MYSQL_URL',
      'GATEWAY_API_TOKEN',
    ]);
    expect(() => loadGatewayConfig({ ...prod, GATEWAY_API_TOKEN: TOKEN })).toThrow(
      /GATEWAY_API_TOKEN: set either GATEWAY_API_TOKEN or GATEWAY_API_TOKEN_FILE, not both/,
    );
    expect(() =>
      loadGatewayConfig({
        ...prod,
        MYSQL_URL: 'mysql://paysync:other@127.0.0.1:1/paysync',
        PAYSYNC_MODE: 'development',
      }),
    ).toThrow(/MYSQL_URL: holds a password and MYSQL_PASSWORD_FILE is set/);
    const { GATEWAY_API_TOKEN_FILE: _file, ...noToken } = prod;
    expect(() => loadGatewayConfig(noToken)).toThrow(
      /GATEWAY_API_TOKEN: is required unless GATEWAY_ROLE=receiver/,
    );
    expect(() => loadGatewayConfig({ ...prod, GATEWAY_API_TOKEN_FILE: join(dir, 'short') })).toThrow(
      /GATEWAY_API_TOKEN: expected at least 24 characters/,
    );
  });

  it('reports the shared key-file problems and its own at once, without showing a key', async () => {
    await writeFile(join(dir, 'not-a-key.pem'), 'SECRET-NOT-A-PEM');
    await writeFile(join(dir, 'empty-v2'), '');
    try {
      loadGatewayConfig({
        ...prod,
        WECHATPAY_ALLOW_INSECURE_HTTP: 'true',
        WECHATPAY_PRIVATE_KEY_FILE: join(dir, 'not-a-key.pem'),
        WECHATPAY_API_V3_KEY_FILE: join(dir, 'short'),
        WECHATPAY_API_V2_KEY_FILE: join(dir, 'empty-v2'),
      });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/^callback-gateway: invalid configuration/);
      expect((err as ConfigError).issues.map((i) => i.variable)).toEqual([
        'WECHATPAY_PRIVATE_KEY_FILE',
        'WECHATPAY_API_V3_KEY_FILE',
        'WECHATPAY_API_V2_KEY_FILE',
        'WECHATPAY_ALLOW_INSECURE_HTTP',
      ]);
      expect((err as Error).message).not.toContain('SECRET-NOT-A-PEM');
      expect((err as Error).message).not.toContain('too-short');
    }
  });

  it('splits the edge: the receiver needs no signing key and refuses one in production; production refuses all', () => {
    const {
      WECHATPAY_PRIVATE_KEY_FILE,
      WECHATPAY_MERCHANT_SERIAL_NO,
      GATEWAY_API_TOKEN_FILE,
      ...receiverEnv
    } = prod;
    const receiver = loadGatewayConfig({ ...receiverEnv, GATEWAY_ROLE: 'receiver' });
    expect(receiver.secrets.privateKeyPem).toBeUndefined();
    expect(receiver.secrets.apiV3Key).toBe('k'.repeat(32));
    expect(() =>
      loadGatewayConfig({ ...receiverEnv, GATEWAY_ROLE: 'receiver', WECHATPAY_PRIVATE_KEY_FILE }),
    ).toThrow(/WECHATPAY_PRIVATE_KEY_FILE: the notification receiver must not hold the merchant private key/);
    // The order service (and all) cannot start without what signs its requests, named at once.
    try {
      loadGatewayConfig({ ...receiverEnv, GATEWAY_ROLE: 'orders' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.variable)).toEqual([
        'WECHATPAY_PRIVATE_KEY_FILE',
        'WECHATPAY_MERCHANT_SERIAL_NO',
        'GATEWAY_API_TOKEN',
      ]);
    }
    expect(() => loadGatewayConfig({ ...prod, GATEWAY_ROLE: 'all' })).toThrow(
      /GATEWAY_ROLE: production runs/,
    );
    expect(loadGatewayConfig({ ...env, WECHATPAY_MERCHANT_SERIAL_NO }).GATEWAY_ROLE).toBe('all');
  });

  it('reads the optional APIv2 key and names an unreadable one by its path', async () => {
    await writeFile(join(dir, 'apiv2'), 'v2-key\n');
    expect(
      loadGatewayConfig({ ...env, WECHATPAY_API_V2_KEY_FILE: join(dir, 'apiv2') }).secrets.apiV2Key,
    ).toEqual({ key: 'v2-key', signType: 'HMAC-SHA256' });
    expect(
      loadGatewayConfig({
        ...env,
        WECHATPAY_API_V2_KEY_FILE: join(dir, 'apiv2'),
        WECHATPAY_API_V2_SIGN_TYPE: 'MD5',
      }).secrets.apiV2Key,
    ).toEqual({ key: 'v2-key', signType: 'MD5' });
    expect(() => loadGatewayConfig({ ...env, WECHATPAY_API_V2_SIGN_TYPE: 'SHA1' })).toThrow(
      /WECHATPAY_API_V2_SIGN_TYPE/,
    );
    expect(loadGatewayConfig(env).secrets.apiV2Key).toBeUndefined();
    expect(() => loadGatewayConfig({ ...env, WECHATPAY_API_V2_KEY_FILE: join(dir, 'missing') })).toThrow(
      /WECHATPAY_API_V2_KEY_FILE: cannot read .*missing \(ENOENT\)/,
    );
  });

  it('wants the public key id and file together', () => {
    expect(() => loadGatewayConfig({ ...env, WECHATPAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_0114' })).toThrow(
      /WECHATPAY_PUBLIC_KEY_ID/,
    );
  });
});

describe('notify URL at start-up', () => {
  it('warns loudly and reports 0 on the gauge in development mode', async () => {
    const lines: string[] = [];
    const logger = createLogger({ service: 't', destination: { write: (l: string) => void lines.push(l) } });
    const metrics = silentMetrics();
    const check = enforceNotifyUrl('http://localhost:8080/notify', { production: false, logger, metrics });
    expect(check.ok).toBe(false);
    expect((await metrics.notifyUrlValid.get()).values[0]?.value).toBe(0);
    const line = JSON.parse(lines[0] as string);
    expect(line.level).toBe('warn');
    expect(line.msg).toContain('NOTIFY URL UNUSABLE BY WECHAT PAY');
    expect(line.problems).toEqual(['NOT_HTTPS', 'LOCAL_HOST', 'WRONG_PATH']);
  });

  it('reports 1 for a usable URL and logs nothing', async () => {
    const lines: string[] = [];
    const logger = createLogger({ service: 't', destination: { write: (l: string) => void lines.push(l) } });
    const metrics = silentMetrics();
    enforceNotifyUrl(`https://pay.example.com${CALLBACK_PATH}`, { production: true, logger, metrics });
    expect((await metrics.notifyUrlValid.get()).values[0]?.value).toBe(1);
    expect(lines).toEqual([]);
  });

  it('throws in production mode with what is wrong and how to fix it', () => {
    const logger = createLogger({ service: 't', level: 'silent' });
    expect(() =>
      enforceNotifyUrl('https://192.168.1.5/api/payment/wechat/callback', {
        production: true,
        logger,
        metrics: silentMetrics(),
      }),
    ).toThrow(NotifyUrlRejectedError);
  });

  it('stops the process before connecting to anything when production meets a localhost notify URL', async () => {
    const failed = await run(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        ...prod,
        GATEWAY_ROLE: 'receiver',
        WECHATPAY_PRIVATE_KEY_FILE: '',
        WECHATPAY_NOTIFY_URL: 'http://localhost:8080/pay/notify',
      },
      timeout: 60_000,
    }).then(
      () => undefined,
      (err: { code: number; stderr: string; stdout: string }) => err,
    );
    expect(failed?.code).toBe(EXIT_CODES.startRefused);
    expect(failed?.stderr).toContain('WECHATPAY_NOTIFY_URL=http://localhost:8080/pay/notify cannot receive');
    expect(failed?.stderr).toContain('Fix: terminate TLS at the ingress');
    expect(failed?.stderr).toContain('Refusing to start in production mode');
    expect(`${failed?.stderr}${failed?.stdout}`).not.toContain('secret-db-password');
  }, 90_000); // a cold Node start of the whole service on a busy 2-core CI machine

  it('reports every configuration problem by variable and exits 2', async () => {
    const failed = await run(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', MYSQL_URL: env.MYSQL_URL as string },
      timeout: 60_000,
    }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(EXIT_CODES.badConfiguration);
    for (const v of ['KAFKA_BROKERS', 'WECHATPAY_MCHID', 'WECHATPAY_NOTIFY_URL', 'GATEWAY_API_TOKEN']) {
      expect(failed?.stderr).toContain(v);
    }
  }, 90_000);
});
