import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '@paysync/config';
import { loadReconcilerConfig } from '../../src/index.ts';

let dir: string;
let base: Record<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reconciler-config-'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(join(dir, 'apiv3'), 'a'.repeat(32));
  base = {
    MYSQL_URL: 'mysql://paysync:secret@db:3306/paysync',
    KAFKA_BROKERS: 'kafka:9092',
    WECHATPAY_MCHID: '1900009191',
    WECHATPAY_MERCHANT_SERIAL_NO: '408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB',
    WECHATPAY_PRIVATE_KEY_FILE: join(dir, 'key.pem'),
    WECHATPAY_API_V3_KEY_FILE: join(dir, 'apiv3'),
  };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function issues(env: Record<string, string>, overrides = {}): string[] {
  try {
    loadReconcilerConfig(env, overrides);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.variable}: ${i.message}`);
  }
}

describe('reconciler configuration', () => {
  it('defaults to the documented schedule: 1m, 2m, 5m, 10m, 30m, then hourly; 100 QPS; one shard', () => {
    const c = loadReconcilerConfig(base);
    expect(c.policy.backoff).toEqual({
      stepsMs: [60_000, 120_000, 300_000, 600_000, 1_800_000],
      thenEveryMs: 3_600_000,
      userPayingMs: 30_000,
      errorRetryMs: 60_000,
    });
    expect(c.policy.missedNotificationAfterMs).toBe(120_000);
    expect(c).toMatchObject({
      RECONCILER_QPS: 100,
      RECONCILER_CONCURRENCY: 16,
      shard: { index: 0, count: 1 },
    });
    expect(c.secrets.apiV3Key).toHaveLength(32);
  });

  it('reads a custom back-off and a shard, the --shard flag winning over the environment', () => {
    const c = loadReconcilerConfig(
      { ...base, RECONCILER_BACKOFF: '30s, 90s', RECONCILER_BACKOFF_THEN: '2h', RECONCILER_SHARD: '1/4' },
      { shard: '2/4' },
    );
    expect(c.policy.backoff.stepsMs).toEqual([30_000, 90_000]);
    expect(c.policy.backoff.thenEveryMs).toBe(7_200_000);
    expect(c.shard).toEqual({ index: 2, count: 4 });
  });

  it('reports every problem at once, by variable, without echoing secrets', () => {
    const found = issues({
      ...base,
      MYSQL_URL: 'postgres://u:hunter2@x/y',
      RECONCILER_QPS: '0',
      RECONCILER_BACKOFF: '1m,soon',
    });
    expect(found.map((f) => f.split(':')[0])).toEqual(['MYSQL_URL', 'RECONCILER_QPS', 'RECONCILER_BACKOFF']);
    expect(found.join('\n')).not.toContain('hunter2');
  });

  it('refuses a claim lease shorter than the time budget', () => {
    expect(issues({ ...base, RECONCILER_TIME_BUDGET: '10m', RECONCILER_CLAIM_LEASE: '5m' })).toEqual([
      expect.stringMatching(/^RECONCILER_CLAIM_LEASE: must be longer/),
    ]);
  });

  it('refuses local-only settings in production and requires the notify URL there', () => {
    const found = issues({
      ...base,
      PAYSYNC_MODE: 'production',
      KAFKA_ALLOW_PLAINTEXT: 'true',
      WECHATPAY_ALLOW_INSECURE_HTTP: 'true',
      RECONCILER_NOTIFY_URL_ALLOW_INSECURE: 'true',
    });
    expect(found.map((f) => f.split(':')[0]).sort()).toEqual([
      'MYSQL_URL',
      'RECONCILER_NOTIFY_URL_ALLOW_INSECURE',
      'WECHATPAY_ALLOW_INSECURE_HTTP',
      'WECHATPAY_NOTIFY_URL',
    ]);
    expect(found.join('\n')).not.toContain(':secret@');
  });

  it('reads the database password from MYSQL_PASSWORD_FILE (the only way in production)', async () => {
    await writeFile(join(dir, 'db-password'), 'p@ss/word\n');
    const config = loadReconcilerConfig({
      ...base,
      PAYSYNC_MODE: 'production',
      KAFKA_ALLOW_PLAINTEXT: 'true',
      RECONCILER_NOTIFY_PROBE: 'false',
      MYSQL_URL: 'mysql://paysync_reconciler@db:3306/paysync',
      MYSQL_PASSWORD_FILE: join(dir, 'db-password'),
    });
    expect(decodeURIComponent(new URL(config.MYSQL_URL).password)).toBe('p@ss/word');
    expect(config.warnings).toEqual([]);
    expect(issues({ ...base, MYSQL_PASSWORD_FILE: join(dir, 'missing') })).toEqual([
      'MYSQL_URL: holds a password and MYSQL_PASSWORD_FILE is set: give it in one place only',
    ]);
  });

  it('refuses a private key file that is not a key', async () => {
    await writeFile(join(dir, 'junk.pem'), '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
    expect(issues({ ...base, WECHATPAY_PRIVATE_KEY_FILE: join(dir, 'junk.pem') })).toEqual([
      'WECHATPAY_PRIVATE_KEY_FILE: is not a readable RSA private key (PEM)',
    ]);
  });

  it('says which key file it cannot read and that an APIv3 key must be 32 bytes', async () => {
    await writeFile(join(dir, 'short'), 'tooshort');
    const found = issues({
      ...base,
      WECHATPAY_PRIVATE_KEY_FILE: join(dir, 'nope.pem'),
      WECHATPAY_API_V3_KEY_FILE: join(dir, 'short'),
    });
    expect(found).toEqual([
      expect.stringMatching(/^WECHATPAY_PRIVATE_KEY_FILE: cannot read .*nope\.pem \(ENOENT\)/),
      'WECHATPAY_API_V3_KEY_FILE: the APIv3 key must be exactly 32 bytes',
    ]);
  });
});
