import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@paysync/config';
import { loadLedgerConfig } from '../../src/index.ts';

// The ledger checks evidence with key files; a bad one is a clear error at start, naming the
// variable and never a key's content.

const dir = mkdtempSync(join(tmpdir(), 'ledger-config-'));
const apiV3 = join(dir, 'apiv3.key');
writeFileSync(apiV3, '0123456789abcdef0123456789abcdef\n');
const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
  type: 'spki',
  format: 'pem',
});
const pub = join(dir, 'pub.pem');
writeFileSync(pub, pem);
const retired = join(dir, 'retired');
const base = {
  MYSQL_URL: 'mysql://paysync:secret@127.0.0.1:3306/paysync',
  KAFKA_BROKERS: '127.0.0.1:9092',
  WECHATPAY_API_V3_KEY_FILE: apiV3,
};

function issues(env: Record<string, string>): string[] {
  try {
    loadLedgerConfig(env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.variable}: ${i.message}`);
  }
}

describe('ledger configuration', () => {
  it('reads the APIv3 key, the public key and the retired public keys', () => {
    mkdirSync(retired, { recursive: true });
    writeFileSync(join(retired, 'PUB_KEY_ID_0112345.pem'), pem);
    writeFileSync(join(retired, 'README'), 'not a key');
    const config = loadLedgerConfig({
      ...base,
      WECHATPAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_0199999',
      WECHATPAY_PUBLIC_KEY_FILE: pub,
      WECHATPAY_RETIRED_PUBLIC_KEYS_DIR: retired,
    });
    expect(config.evidence.apiV3Key).toHaveLength(32);
    expect(config.evidence.publicKeys.map((k) => k.id)).toEqual(['PUB_KEY_ID_0199999', 'PUB_KEY_ID_0112345']);
    expect(config.LEDGER_LOCK_WAIT_TIMEOUT_S).toBe(5);
  });

  it('refuses a missing or short APIv3 key, a lone public key id, and an unreadable key, all at once', () => {
    const short = join(dir, 'short.key');
    writeFileSync(short, 'too short');
    expect(
      issues({ ...base, WECHATPAY_API_V3_KEY_FILE: short, WECHATPAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_01' }),
    ).toEqual([
      'WECHATPAY_API_V3_KEY_FILE: the APIv3 key must be exactly 32 bytes',
      'WECHATPAY_PUBLIC_KEY_ID: WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY_FILE go together',
    ]);
    const messages = issues({
      ...base,
      WECHATPAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_01',
      WECHATPAY_PUBLIC_KEY_FILE: apiV3,
    });
    expect(messages).toEqual([`WECHATPAY_PUBLIC_KEY_FILE: ${apiV3} is not a readable public key (PEM)`]);
    expect(messages.join(' ')).not.toContain('0123456789abcdef');
    expect(issues({ MYSQL_URL: base.MYSQL_URL, KAFKA_BROKERS: base.KAFKA_BROKERS })).toEqual([
      'WECHATPAY_API_V3_KEY_FILE: is required',
    ]);
  });

  it('refuses a lock wait that could outlive the consumer session between two heartbeats', () => {
    expect(issues({ ...base, LEDGER_SESSION_TIMEOUT_MS: '10000', LEDGER_LOCK_WAIT_TIMEOUT_S: '5' })).toEqual([
      expect.stringContaining(
        'LEDGER_LOCK_WAIT_TIMEOUT_S: twice it must stay under LEDGER_SESSION_TIMEOUT_MS',
      ),
    ]);
    expect(issues({ ...base, LEDGER_SESSION_TIMEOUT_MS: '10000', LEDGER_LOCK_WAIT_TIMEOUT_S: '4' })).toEqual(
      [],
    );
  });

  it('applies three partitions at a time by default, and refuses as many as it has connections', () => {
    expect(loadLedgerConfig({ ...base }).LEDGER_PARTITIONS_CONCURRENTLY).toBe(3);
    expect(issues({ ...base, LEDGER_DB_POOL_SIZE: '4', LEDGER_PARTITIONS_CONCURRENTLY: '4' })).toEqual([
      expect.stringContaining('LEDGER_PARTITIONS_CONCURRENTLY: it must stay under LEDGER_DB_POOL_SIZE (4)'),
    ]);
    expect(issues({ ...base, LEDGER_DB_POOL_SIZE: '5', LEDGER_PARTITIONS_CONCURRENTLY: '4' })).toEqual([]);
  });
});
