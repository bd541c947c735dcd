import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { CONFIG_REFERENCE, renderConfigReference } from '../../scripts/config-reference.ts';

describe('docs/configuration.md', () => {
  it('matches the environment schemas of every process (regenerate: node scripts/config-reference.ts)', () => {
    expect(readFileSync(CONFIG_REFERENCE, 'utf8')).toBe(renderConfigReference());
  });

  it('lists the variables an operator must set for each process', () => {
    const text = renderConfigReference();
    for (const v of ['WECHATPAY_NOTIFY_URL', 'MYSQL_URL', 'KAFKA_BROKERS', 'LEDGER_BATCH_SIZE']) {
      expect(text).toContain(`| \`${v}\` |`);
    }
  });
});
