import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '@paysync/config';
import { kafkaSecurityEnv, loadKafkaSecurity } from '../../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'paysync-kafka-security-'));
const passwordFile = join(dir, 'password');
const caFile = join(dir, 'ca.pem');
writeFileSync(passwordFile, 'hunter2-kafka\n');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The security options, as a service gets them from its environment. */
function security(env: Record<string, string>) {
  return loadKafkaSecurity('svc', loadConfig('svc', kafkaSecurityEnv, env), env);
}

/** The issues of a refused environment, as `variable: message` lines. */
function issues(env: Record<string, string>): string[] {
  try {
    security(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.message).not.toContain('hunter2');
    return err.issues.map((i) => `${i.variable}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('Kafka security settings', () => {
  it('is plaintext without any setting, outside production', () => {
    expect(security({})).toEqual({});
  });

  it('reads the SASL password from its file, never from a variable', () => {
    expect(
      security({
        KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
        KAFKA_SASL_USERNAME: 'paysync-ledger',
        KAFKA_SASL_PASSWORD_FILE: passwordFile,
      }),
    ).toEqual({
      sasl: { mechanism: 'scram-sha-512', username: 'paysync-ledger', password: 'hunter2-kafka' },
    });
    expect(Object.keys(kafkaSecurityEnv.shape).filter((k) => /PASSWORD(?!_FILE)/.test(k))).toEqual([]);
  });

  it('verifies the brokers with the given CA under SASL_SSL, and takes a client certificate for mTLS', () => {
    const certFile = join(dir, 'client.pem');
    const keyFile = join(dir, 'client.key');
    writeFileSync(certFile, 'CERT');
    writeFileSync(keyFile, 'KEY');
    expect(
      security({
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        KAFKA_SASL_USERNAME: 'paysync-orders',
        KAFKA_SASL_PASSWORD_FILE: passwordFile,
        KAFKA_SSL_CA_FILE: caFile,
      }),
    ).toEqual({
      sasl: { mechanism: 'scram-sha-256', username: 'paysync-orders', password: 'hunter2-kafka' },
      ssl: { rejectUnauthorized: true, ca: [expect.stringContaining('BEGIN CERTIFICATE')] },
    });
    expect(
      security({
        KAFKA_SECURITY_PROTOCOL: 'SSL',
        KAFKA_SSL_CERT_FILE: certFile,
        KAFKA_SSL_KEY_FILE: keyFile,
      }),
    ).toEqual({ ssl: { rejectUnauthorized: true, cert: 'CERT', key: 'KEY' } });
  });

  it('names every missing or inconsistent variable at once', () => {
    expect(issues({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SSL_CERT_FILE: caFile })).toEqual([
      'KAFKA_SASL_USERNAME: is required with SASL_SSL',
      'KAFKA_SASL_PASSWORD_FILE: is required with SASL_SSL',
      'KAFKA_SSL_KEY_FILE: KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together',
    ]);
    expect(
      issues({
        KAFKA_SASL_USERNAME: 'paysync-ledger',
        KAFKA_SASL_PASSWORD_FILE: passwordFile,
        KAFKA_SSL_CA_FILE: caFile,
      }),
    ).toEqual([
      'KAFKA_SASL_USERNAME: is only used with SASL_PLAINTEXT or SASL_SSL, not PLAINTEXT',
      'KAFKA_SASL_PASSWORD_FILE: is only used with SASL_PLAINTEXT or SASL_SSL, not PLAINTEXT',
      'KAFKA_SSL_CA_FILE: is only used with SSL or SASL_SSL, not PLAINTEXT',
    ]);
  });

  it('says which file it cannot read or is empty, without its content', () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expect(
      issues({
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_USERNAME: 'paysync-ledger',
        KAFKA_SASL_PASSWORD_FILE: empty,
        KAFKA_SSL_CA_FILE: join(dir, 'missing.pem'),
      }),
    ).toEqual([
      `KAFKA_SASL_PASSWORD_FILE: ${empty} is empty`,
      `KAFKA_SSL_CA_FILE: cannot read ${join(dir, 'missing.pem')} (ENOENT)`,
    ]);
  });

  it('refuses PLAINTEXT in production mode unless KAFKA_ALLOW_PLAINTEXT accepts it', () => {
    const modes: Record<string, string>[] = [{ PAYSYNC_MODE: 'production' }, { NODE_ENV: 'production' }];
    for (const mode of modes) {
      expect(issues(mode)).toEqual([
        expect.stringMatching(/^KAFKA_SECURITY_PROTOCOL: PLAINTEXT .* refused in production mode/),
      ]);
      expect(security({ ...mode, KAFKA_ALLOW_PLAINTEXT: 'true' })).toEqual({});
    }
    expect(
      security({
        PAYSYNC_MODE: 'production',
        KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
        KAFKA_SASL_USERNAME: 'paysync-ledger',
        KAFKA_SASL_PASSWORD_FILE: passwordFile,
      }).sasl,
    ).toBeDefined();
  });
});
