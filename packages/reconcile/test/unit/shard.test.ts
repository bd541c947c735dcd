import { describe, expect, it } from '@jest/globals';
import {
  InvalidShardError,
  parseShard,
  shardLabel,
  shardOf,
  shardPredicate,
  sweepLockName,
} from '../../src/index.ts';

describe('shards', () => {
  it('parses i/n', () => {
    expect(parseShard('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShard(' 3/4 ')).toEqual({ index: 3, count: 4 });
  });

  it.each(['4/4', '1/0', 'a/b', '1', '-1/2', '0/2000'])('refuses %s', (value) => {
    expect(() => parseShard(value)).toThrow(InvalidShardError);
  });

  it('names one lock per shard and keeps the plain name for an unsharded run', () => {
    expect(sweepLockName({ index: 0, count: 1 })).toBe('paysync_reconciler_sweep');
    expect(sweepLockName({ index: 1, count: 4 })).toBe('paysync_reconciler_sweep_1_of_4');
    expect(shardLabel({ index: 1, count: 4 })).toBe('1-of-4');
  });

  it('filters nothing for one shard and by CRC32 modulo n otherwise', () => {
    expect(shardPredicate({ index: 0, count: 1 }).sql).toBe('');
    expect(shardPredicate({ index: 2, count: 3 })).toEqual({
      sql: ' AND CRC32(out_trade_no) % ? = ?',
      params: [3, 2],
    });
  });

  it('spreads orders over every shard', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardOf(`RECHARGE_ORDER_${i}`, 4)]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });
});

describe('advisory lock names', () => {
  it('are scoped to the database and fit MySQL’s 64 characters', async () => {
    const { scopedLockName } = await import('../../src/index.ts');
    expect(scopedLockName('paysync', 'paysync_reconciler_sweep')).toBe('paysync.paysync_reconciler_sweep');
    const long = scopedLockName('d'.repeat(64), 'paysync_reconciler_sweep_12_of_16');
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).not.toBe(scopedLockName('e'.repeat(64), 'paysync_reconciler_sweep_12_of_16'));
  });
});
