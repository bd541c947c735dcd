import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '@paysync/config';
import { databaseUrl, wechatSettings } from '../../src/config.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'payctl-production-'));
  await writeFile(join(dir, 'db-password'), 'file-password\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const wechat = {
  WECHATPAY_MCHID: '1900009191',
  WECHATPAY_MERCHANT_SERIAL_NO: '408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB',
  WECHATPAY_PRIVATE_KEY_FILE: '/run/key.pem',
  WECHATPAY_API_V3_KEY_FILE: '/run/apiv3',
};

function issues(fn: () => unknown): string[] {
  try {
    fn();
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.variable}: ${i.message}`);
  }
}

describe('payctl in production mode', () => {
  it('refuses a leftover sandbox configuration, as the services do', () => {
    const sandbox = {
      ...wechat,
      WECHATPAY_ALLOW_INSECURE_HTTP: 'true',
      WECHATPAY_BASE_URLS: 'http://127.0.0.1:18080',
    };
    expect(issues(() => wechatSettings(sandbox))).toEqual([]);
    expect(issues(() => wechatSettings({ ...sandbox, PAYSYNC_MODE: 'production' }))).toEqual([
      expect.stringMatching(
        /^WECHATPAY_ALLOW_INSECURE_HTTP: .*refused|^WECHATPAY_ALLOW_INSECURE_HTTP: .*production/,
      ),
      expect.stringMatching(
        /^WECHATPAY_BASE_URLS: http:\/\/127\.0\.0\.1:18080\/?: a local sandbox origin is refused/,
      ),
    ]);
    expect(
      issues(() =>
        wechatSettings({ ...wechat, NODE_ENV: 'production', WECHATPAY_BASE_URLS: 'https://localhost:9443' }),
      ),
    ).toHaveLength(1);
    expect(issues(() => wechatSettings({ ...wechat, PAYSYNC_MODE: 'production' }))).toEqual([]);
  });

  it('takes the database password from MYSQL_PASSWORD_FILE only', () => {
    expect(
      issues(() =>
        databaseUrl({ PAYSYNC_MODE: 'production', MYSQL_URL: 'mysql://payctl:inline-pw@db:3306/paysync' }),
      ),
    ).toEqual([
      'MYSQL_URL: holds a secret inline, refused in production mode; give a URL without password and the password in MYSQL_PASSWORD_FILE',
    ]);
    expect(
      databaseUrl({
        PAYSYNC_MODE: 'production',
        MYSQL_URL: 'mysql://payctl@db:3306/paysync',
        MYSQL_PASSWORD_FILE: join(dir, 'db-password'),
      }),
    ).toBe('mysql://payctl:file-password@db:3306/paysync');
  });
});
