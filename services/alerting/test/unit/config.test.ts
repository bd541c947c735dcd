import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@paysync/config';
import { loadAlertingConfig } from '../../src/index.ts';

const required = {
  MYSQL_URL: 'mysql://u:p@db:3306/paysync',
  KAFKA_BROKERS: 'kafka:9092',
  ALERTING_ROUTES_FILE: '/etc/paysync/routes.yaml',
};

describe('alerting configuration', () => {
  it('has defaults an operator can run with', () => {
    const c = loadAlertingConfig(required);
    expect(c).toMatchObject({
      ALERTING_PORT: 8080,
      ALERTING_GROUP_ID: 'paysync-alerting',
      ALERTING_RETRY_BASE: 5000,
      ALERTING_DELIVERY_MAX_AGE: 86_400_000,
      ALERTING_BREAKER_RESET_TIMEOUT: 30_000,
      webhookToken: undefined,
    });
  });

  it('lists every bad variable and reads the webhook token from its file', () => {
    expect(() => loadAlertingConfig({ KAFKA_BROKERS: 'nope', ALERTING_RETRY_BASE: 'soon' })).toThrow(
      ConfigError,
    );
    try {
      loadAlertingConfig({ KAFKA_BROKERS: 'nope' });
    } catch (err) {
      const vars = (err as ConfigError).issues.map((i) => i.variable).sort();
      expect(vars).toEqual(['ALERTING_ROUTES_FILE', 'KAFKA_BROKERS', 'MYSQL_URL']);
    }
    expect(() =>
      loadAlertingConfig({ ...required, ALERTING_WEBHOOK_TOKEN_FILE: '/nonexistent/token' }),
    ).toThrow(/ALERTING_WEBHOOK_TOKEN_FILE: cannot be read \(ENOENT\)/);
    expect(() =>
      loadAlertingConfig({ ...required, ALERTING_RETRY_BASE: '10m', ALERTING_RETRY_MAX: '1m' }),
    ).toThrow(/ALERTING_RETRY_MAX/);
  });

  it('requires the webhook token and file-only secrets in production mode, naming variables, never values', () => {
    try {
      loadAlertingConfig({ ...required, PAYSYNC_MODE: 'production' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.variable)).toEqual([
        'MYSQL_URL',
        'ALERTING_WEBHOOK_TOKEN_FILE',
      ]);
      expect((err as Error).message).not.toContain('u:p@');
    }
    expect(loadAlertingConfig(required).warnings.map((w) => w.variable)).toEqual(['MYSQL_URL']);
  });
});
