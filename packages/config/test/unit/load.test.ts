import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  boolFromEnv,
  brokerListFromEnv,
  ConfigError,
  describeEnv,
  durationMsFromEnv,
  listFromEnv,
  loadConfig,
  mysqlUrlFromEnv,
  portFromEnv,
} from '../../src/index.ts';

const schema = z.object({
  MYSQL_URL: mysqlUrlFromEnv.describe('MySQL connection URL'),
  KAFKA_BROKERS: brokerListFromEnv.describe('Kafka bootstrap brokers'),
  PORT: portFromEnv.default(8080).describe('HTTP port'),
  DRY_RUN: boolFromEnv.default(false),
  TIMEOUT: durationMsFromEnv.default(5000),
});

describe('listFromEnv', () => {
  it('splits on commas, trims each item and drops empty ones', () => {
    expect(listFromEnv.parse(' a, b ,,c, ')).toEqual(['a', 'b', 'c']);
    expect(listFromEnv.parse('  ')).toEqual([]);
  });
});

describe('loadConfig', () => {
  it('parses every field into its type and applies defaults', () => {
    const cfg = loadConfig('svc', schema, {
      MYSQL_URL: 'mysql://u:p@127.0.0.1:3306/paysync',
      KAFKA_BROKERS: '127.0.0.1:9092, kafka-2:9093',
      DRY_RUN: 'yes',
      TIMEOUT: '1.5s',
    });
    expect(cfg).toEqual({
      MYSQL_URL: 'mysql://u:p@127.0.0.1:3306/paysync',
      KAFKA_BROKERS: ['127.0.0.1:9092', 'kafka-2:9093'],
      PORT: 8080,
      DRY_RUN: true,
      TIMEOUT: 1500,
    });
  });

  it('reports every invalid variable by name in one error', () => {
    let err: unknown;
    try {
      loadConfig('svc', schema, { KAFKA_BROKERS: 'nohostport', PORT: '70000', TIMEOUT: '5 minutes' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const vars = (err as ConfigError).issues.map((i) => i.variable).sort();
    expect(vars).toEqual(['KAFKA_BROKERS', 'MYSQL_URL', 'PORT', 'TIMEOUT']);
    expect((err as ConfigError).message).toContain('MYSQL_URL: is required');
    expect((err as ConfigError).code).toBe('CONFIG_INVALID');
  });

  it('never echoes a value in its error, so secrets cannot leak through it', () => {
    const secret = 'mysql//user:hunter2-very-secret@db';
    expect(() => loadConfig('svc', schema, { MYSQL_URL: secret, KAFKA_BROKERS: 'k:1' })).toThrow(ConfigError);
    try {
      loadConfig('svc', schema, { MYSQL_URL: secret, KAFKA_BROKERS: 'k:1' });
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('hunter2');
    }
  });

  it('treats an empty variable as unset so the default applies', () => {
    const cfg = loadConfig('svc', schema, { MYSQL_URL: 'mysql://u@h/db', KAFKA_BROKERS: 'k:1', PORT: '' });
    expect(cfg.PORT).toBe(8080);
  });
});

describe('describeEnv', () => {
  it('lists each variable with required flag, default and description', () => {
    const docs = describeEnv(schema);
    expect(docs.find((d) => d.variable === 'MYSQL_URL')).toEqual({
      variable: 'MYSQL_URL',
      required: true,
      description: 'MySQL connection URL',
    });
    expect(docs.find((d) => d.variable === 'PORT')).toMatchObject({ required: false, default: '8080' });
  });
});
