import { DLQ_HANDLED_GROUP } from '@paysync/contracts';
import type { Admin } from 'kafkajs';

/**
 * One DLQ partition: the offsets the broker keeps (`low` to `high`, exclusive) and `handled`, the
 * committed offset of DLQ_HANDLED_GROUP — every message below it has been dealt with by an operator
 * (`payctl dlq resolve`). No commit, or one below `low` (retention removed those messages), counts
 * as `low`: nothing left in the topic is handled. Unhandled dead letters: `high - handled`.
 */
export type DlqPartition = { partition: number; low: bigint; high: bigint; handled: bigint };

/** Reads every partition's watermarks and DLQ_HANDLED_GROUP's offsets, sorted by partition. */
export async function fetchDlqPartitions(admin: Admin, topic: string): Promise<DlqPartition[]> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: DLQ_HANDLED_GROUP, topics: [topic] }),
  ]);
  const done = new Map(
    (committed[0]?.partitions ?? [])
      .filter((p) => p.offset !== '-1')
      .map((p) => [p.partition, BigInt(p.offset)]),
  );
  return ends
    .map((e) => {
      const low = BigInt(e.low);
      const handled = done.get(e.partition) ?? low;
      return { partition: e.partition, low, high: BigInt(e.high), handled: handled > low ? handled : low };
    })
    .sort((a, b) => a.partition - b.partition);
}

/** Dead letters past the handled offset in one partition (never negative). */
export function unhandledCount(p: DlqPartition): number {
  return p.high > p.handled ? Number(p.high - p.handled) : 0;
}
