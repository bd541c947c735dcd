import { crc32 } from 'node:zlib';
import { InvalidShardError } from './errors.ts';

/** One slice of the orders, by CRC32 of out_trade_no: `index` of `count`. */
export type Shard = { index: number; count: number };

export const WHOLE: Shard = Object.freeze({ index: 0, count: 1 });

/** Parses `i/n` (e.g. `0/4`). `n` at most 1024. */
export function parseShard(value: string): Shard {
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(value.trim());
  if (!m) throw new InvalidShardError(value);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 1024 || index >= count) throw new InvalidShardError(value);
  return { index, count };
}

/** A label value safe in metric labels and Pushgateway grouping keys: `0-of-1`. */
export function shardLabel(shard: Shard): string {
  return `${shard.index}-of-${shard.count}`;
}

/** The advisory lock a sweep holds: one name per shard (unsharded runs keep the plain name). */
export function sweepLockName(shard: Shard): string {
  return shard.count === 1
    ? 'paysync_reconciler_sweep'
    : `paysync_reconciler_sweep_${shard.index}_of_${shard.count}`;
}

/** The SQL predicate that keeps one shard's orders; MySQL's CRC32 equals zlib's. */
export function shardPredicate(shard: Shard): { sql: string; params: number[] } {
  if (shard.count === 1) return { sql: '', params: [] };
  return { sql: ' AND CRC32(out_trade_no) % ? = ?', params: [shard.count, shard.index] };
}

/** Which shard an order belongs to (same rule as the SQL predicate). */
export function shardOf(outTradeNo: string, count: number): number {
  return crc32(outTradeNo) % count;
}
