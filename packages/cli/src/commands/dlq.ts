import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type PaymentObservation, TOPICS, tryDecodeMessage } from '@paysync/contracts';
import { completeAudit, insertAudit } from '@paysync/reconcile';
import type { Kafka } from 'kafkajs';
import { CommandFailedError, UsageError } from '../errors.ts';
import { iso, json, table } from '../format.ts';
import { type Io, paint } from '../io.ts';
import { actorOf, positiveInt, reasonFor } from '../options.ts';
import type { Resources } from '../resources.ts';

export type DlqEntry = {
  id: string;
  partition: number;
  offset: string;
  reason: string;
  reasonDetail: string;
  outTradeNo: string | null;
  failedAt: string;
  original: { topic: string; partition: number; offset: string };
  /** The original message is a valid observation: it can be published again. */
  retriable: boolean;
  observation: PaymentObservation | undefined;
};

/** Reads the whole DLQ topic (a throwaway consumer group from the beginning to the high watermark). */
export async function readDlq(kafka: Kafka, topic: string, timeoutMs = 30_000): Promise<DlqEntry[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const last = new Map(
      offsets.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]),
    );
    if (last.size === 0) return [];
    const groupId = `payctl-dlq-${randomUUID()}`;
    const consumer = kafka.consumer({ groupId });
    const entries: DlqEntry[] = [];
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
          const d = tryDecodeMessage(TOPICS.paymentObservationsDlq, message.value);
          if (d.ok) {
            const original = tryDecodeMessage(TOPICS.paymentObservations, d.message.originalValue);
            entries.push({
              id: `${partition}:${message.offset}`,
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
              },
              retriable: original.ok,
              observation: original.ok ? original.message : undefined,
            });
          }
          const end = last.get(partition);
          if (end !== undefined && BigInt(message.offset) >= end) last.delete(partition);
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
    return entries.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  } finally {
    await admin.disconnect();
  }
}

/** payctl dlq list */
export async function dlqListCommand(
  res: Resources,
  io: Io,
  flags: { limit?: string; json?: boolean },
): Promise<number> {
  const limit = flags.limit ? positiveInt('--limit', flags.limit, 100_000) : 100;
  const all = await readDlq(res.kafka(), res.topics().paymentObservationsDlq);
  const shown = all.slice(-limit);
  if (flags.json) json(io, { total: all.length, entries: shown.map(({ observation: _o, ...e }) => e) });
  else {
    io.out(
      `${all.length} dead-lettered observation(s)${shown.length < all.length ? `, the last ${shown.length} shown` : ''}\n`,
    );
    if (shown.length > 0) {
      io.out(
        table(
          ['id', 'failed at', 'reason', 'out_trade_no', 'retriable', 'detail'],
          shown.map((e) => [
            e.id,
            iso(e.failedAt),
            e.reason,
            e.outTradeNo ?? '-',
            e.retriable ? 'yes' : paint(io, 'red', 'no'),
            e.reasonDetail.slice(0, 80),
          ]),
        ),
      );
    }
  }
  return 0;
}

/**
 * payctl dlq retry <id…> | --all: publishes the original observation again (same observation id, so
 * the ledger applies it at most once, however often it is retried), with an audit record each.
 */
export async function dlqRetryCommand(
  res: Resources,
  io: Io,
  ids: string[],
  flags: { all?: boolean; reason?: string; actor?: string; dryRun?: boolean; json?: boolean },
): Promise<number> {
  const dryRun = flags.dryRun ?? false;
  const actor = actorOf(io, flags.actor);
  const reason = reasonFor(dryRun, flags.reason);
  if (!flags.all && ids.length === 0)
    throw new UsageError('name the entries to retry (partition:offset, from dlq list) or pass --all');
  const all = await readDlq(res.kafka(), res.topics().paymentObservationsDlq);
  const byId = new Map(all.map((e) => [e.id, e]));
  const unknown = ids.filter((id) => !byId.has(id));
  if (unknown.length > 0) throw new CommandFailedError(`not in the DLQ: ${unknown.join(', ')}`);
  const selected = flags.all ? all : ids.map((id) => byId.get(id)!);
  const correlationId = randomUUID();
  const results: { id: string; outTradeNo: string | null; result: string }[] = [];
  for (const e of selected) {
    if (!e.retriable || !e.observation) {
      results.push({ id: e.id, outTradeNo: e.outTradeNo, result: 'skipped: not a valid observation' });
      continue;
    }
    if (dryRun) {
      results.push({ id: e.id, outTradeNo: e.outTradeNo, result: 'would publish again' });
      continue;
    }
    const auditId = await insertAudit(res.pool(), {
      actor,
      tool: 'payctl',
      action: 'dlq_retry',
      reason: reason ?? '',
      dryRun: false,
      outTradeNo: e.observation.outTradeNo,
      before: { dlq: e.id, reason: e.reason, detail: e.reasonDetail },
      correlationId,
    });
    // Validated against today's contract when read; published as it was (same observation id).
    await (await res.publisher()).observations([e.observation]);
    await completeAudit(res.pool(), auditId, { republished_observation_id: e.observation.observationId });
    results.push({ id: e.id, outTradeNo: e.outTradeNo, result: 'published again' });
  }
  if (flags.json) json(io, { dryRun, correlationId: dryRun ? null : correlationId, results });
  else {
    if (dryRun) io.out(`${paint(io, 'bold', 'DRY RUN')}: nothing was published or written.\n`);
    io.out(
      table(
        ['id', 'out_trade_no', 'result'],
        results.map((r) => [r.id, r.outTradeNo ?? '-', r.result]),
      ),
    );
  }
  return results.some((r) => r.result.startsWith('skipped')) ? 1 : 0;
}
