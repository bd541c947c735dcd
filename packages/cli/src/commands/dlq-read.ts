import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type PaymentObservation, TOPICS, tryDecodeMessage } from '@paysync/contracts';
import {
  createConsumer,
  type DlqPartition,
  fetchDlqPartitions,
  PAYCTL_DLQ_READ_GROUP_PREFIX,
} from '@paysync/kafka';
import type { Kafka } from 'kafkajs';
import { CommandFailedError } from '../errors.ts';

export type DlqEntry = {
  id: string;
  partition: number;
  offset: string;
  reason: string;
  reasonDetail: string;
  outTradeNo: string | null;
  failedAt: string;
  /** Where the original came from; its size and SHA-256 when the dead letter recorded them. */
  original: {
    topic: string;
    partition: number;
    offset: string;
    bytes?: number;
    sha256?: string;
    /** Only the value's beginning was kept (a huge message): it cannot be retried. */
    truncated?: boolean;
  };
  /** The original message is a valid observation: it can be published again. */
  retriable: boolean;
  /** Below its partition's handled offset (DLQ_HANDLED_GROUP): an operator has dealt with it. */
  handled: boolean;
  observation: PaymentObservation | undefined;
};

export type DlqSnapshot = {
  topic: string;
  entries: DlqEntry[];
  partitions: DlqPartition[];
  /** Messages in the topic that are not dead letters by the contract (ids): never listed or retried. */
  unreadable: string[];
};

/**
 * Reads the whole DLQ topic (a throwaway consumer group, from the beginning to the high watermark
 * seen at the start) and marks each entry handled or not by DLQ_HANDLED_GROUP's offsets.
 */
export async function readDlq(kafka: Kafka, topic: string, timeoutMs = 30_000): Promise<DlqSnapshot> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const partitions = await fetchDlqPartitions(admin, topic);
    const handledBelow = new Map(partitions.map((p) => [p.partition, p.handled]));
    const last = new Map(partitions.filter((p) => p.high > p.low).map((p) => [p.partition, p.high - 1n]));
    const entries: DlqEntry[] = [];
    const unreadable: string[] = [];
    if (last.size === 0) return { topic, entries, partitions, unreadable };
    const groupId = `${PAYCTL_DLQ_READ_GROUP_PREFIX}${randomUUID()}`;
    const consumer = createConsumer(kafka, { groupId });
    let finished = () => {};
    const done = new Promise<void>((r) => {
      finished = r;
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const end = last.get(partition);
          // Past the end seen at the start: arrived while reading, left for the next run.
          if (end === undefined || BigInt(message.offset) > end) return;
          const id = `${partition}:${message.offset}`;
          const d = tryDecodeMessage(TOPICS.paymentObservationsDlq, message.value);
          if (d.ok) {
            const original = tryDecodeMessage(TOPICS.paymentObservations, d.message.originalValue);
            entries.push({
              id,
              partition,
              offset: message.offset,
              reason: d.message.reason,
              reasonDetail: d.message.reasonDetail,
              outTradeNo: d.message.outTradeNo ?? null,
              failedAt: d.message.failedAt,
              original: {
                topic: d.message.originalTopic,
                partition: d.message.originalPartition,
                offset: d.message.originalOffset,
                ...(d.message.originalBytes !== undefined ? { bytes: d.message.originalBytes } : {}),
                ...(d.message.originalSha256 ? { sha256: d.message.originalSha256 } : {}),
                ...(d.message.originalTruncated ? { truncated: true } : {}),
              },
              retriable: original.ok && d.message.originalTruncated !== true,
              handled: BigInt(message.offset) < (handledBelow.get(partition) ?? 0n),
              observation: original.ok ? original.message : undefined,
            });
          } else unreadable.push(id);
          if (BigInt(message.offset) >= end) last.delete(partition);
          if (last.size === 0) finished();
        },
      });
      const timer = new AbortController();
      const timedOut = await Promise.race([
        done.then(() => false),
        sleep(timeoutMs, true, { signal: timer.signal }).catch(() => false),
      ]);
      timer.abort();
      if (timedOut) throw new CommandFailedError(`could not read ${topic} to its end within ${timeoutMs} ms`);
    } finally {
      await consumer.disconnect().catch(() => {});
      await admin.deleteGroups([groupId]).catch(() => {});
    }
    entries.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
    return { topic, entries, partitions, unreadable };
  } finally {
    await admin.disconnect();
  }
}
