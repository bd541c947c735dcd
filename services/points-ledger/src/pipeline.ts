import {
  type DeadLetteredObservation,
  type MessageInput,
  type PaymentObservation,
  TOPICS,
  tryDecodeMessage,
} from '@paysync/contracts';
import { isRetryableTransactionError, type Pool, withTransaction } from '@paysync/db';
import type { Logger } from '@paysync/observability';
import { type Applied, applyObservations, type Incoming } from './settle.ts';

/** One consumed Kafka record, as the pipeline needs it. */
export type RawRecord = {
  topic: string;
  partition: number;
  offset: string;
  value: Buffer | null;
  timestamp: string;
};

export type Publications = {
  settled: MessageInput<typeof TOPICS.orderSettled>[];
  alerts: MessageInput<typeof TOPICS.alerts>[];
  deadLetters: MessageInput<typeof TOPICS.paymentObservationsDlq>[];
};

export type RecordOutcome = {
  record: RawRecord;
  outcome: Applied['kind'] | 'malformed' | 'failed';
  result?: Applied;
};

export type PipelineDeps = {
  pool: Pool;
  logger: Logger;
  now?: () => Date;
  /** Transaction attempts on deadlock / lock-wait timeout before giving up (default 5). */
  maxAttempts?: number;
};

function deadLetter(
  record: RawRecord,
  reason: DeadLetteredObservation['reason'],
  detail: string,
  outTradeNo: string | undefined,
  now: Date,
): MessageInput<typeof TOPICS.paymentObservationsDlq> {
  return {
    reason,
    reasonDetail: detail.slice(0, 2048),
    originalValue: record.value?.toString('utf8') ?? '',
    originalTopic: record.topic,
    originalPartition: record.partition,
    originalOffset: record.offset,
    ...(outTradeNo && /^[A-Za-z0-9_\-|*]{1,64}$/.test(outTradeNo) ? { outTradeNo } : {}),
    failedAt: now.toISOString(),
  };
}

function deadLetterAlert(dl: MessageInput<typeof TOPICS.paymentObservationsDlq>, now: Date) {
  const outTradeNo =
    dl.outTradeNo && /^[A-Za-z0-9_\-|*]{6,32}$/.test(dl.outTradeNo) ? dl.outTradeNo : undefined;
  return {
    alertId: crypto.randomUUID(),
    type: dl.reason === 'unknown_order' ? ('unknown_order' as const) : ('observation_dead_lettered' as const),
    severity: dl.reason === 'unknown_order' ? ('critical' as const) : ('warning' as const),
    ...(outTradeNo ? { outTradeNo } : {}),
    summary:
      dl.reason === 'unknown_order'
        ? `WeChat reported an order paysync does not know: ${dl.outTradeNo ?? '(none)'}`
        : `An observation could not be applied and went to the DLQ (${dl.reason})`,
    details: { reason: dl.reason, partition: dl.originalPartition, offset: dl.originalOffset },
    dedupeKey: `${dl.reason}:${dl.originalTopic}:${dl.originalPartition}:${dl.originalOffset}`,
    source: 'points-ledger',
    occurredAt: now.toISOString(),
  };
}

async function inTransaction(deps: PipelineDeps, items: Incoming[], now: Date): Promise<Applied[]> {
  const attempts = deps.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(deps.pool, (conn) => applyObservations(conn, items, now));
    } catch (err) {
      if (!isRetryableTransactionError(err) || attempt >= attempts) throw err;
      deps.logger.debug({ attempt, size: items.length }, 'transaction conflict; retrying');
      await new Promise((r) => setTimeout(r, 5 * attempt * Math.random()));
    }
  }
}

/** Errors that say the database is unreachable or failing, not that this message is bad. */
function isInfrastructureError(err: unknown): boolean {
  const code = (err as { code?: string; fatal?: boolean })?.code ?? '';
  return (
    (err as { fatal?: boolean })?.fatal === true ||
    isRetryableTransactionError(err) ||
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|PROTOCOL_|ER_SERVER_SHUTDOWN|ER_CON_COUNT_ERROR|ER_LOCK_|ER_QUERY_INTERRUPTED|ER_CONNECTION_KILLED|ER_CLIENT_INTERACTION_TIMEOUT)/.test(
      code,
    ) ||
    /Pool is closed|connection is in closed state|Can't add new command when connection is in closed state/i.test(
      String((err as Error)?.message),
    )
  );
}

/**
 * Applies a chunk of consumed records: decodes them, applies the valid ones in one transaction
 * (falling back to one transaction per record to isolate a failing one), and returns what must be
 * published once the transaction has committed. A database outage is thrown, never dead-lettered:
 * the records stay unacknowledged and are consumed again.
 */
export async function processRecords(
  deps: PipelineDeps,
  records: readonly RawRecord[],
): Promise<{ outcomes: RecordOutcome[]; publications: Publications }> {
  const now = deps.now?.() ?? new Date();
  const publications: Publications = { settled: [], alerts: [], deadLetters: [] };
  const outcomes: RecordOutcome[] = [];
  const valid: { record: RawRecord; obs: PaymentObservation }[] = [];

  for (const record of records) {
    const decoded = tryDecodeMessage(TOPICS.paymentObservations, record.value);
    if (decoded.ok) {
      valid.push({ record, obs: decoded.message });
      continue;
    }
    let outTradeNo: string | undefined;
    try {
      outTradeNo = JSON.parse(record.value?.toString('utf8') ?? '{}')?.out_trade_no;
    } catch {
      outTradeNo = undefined;
    }
    const dl = deadLetter(record, 'malformed', decoded.error.reason, outTradeNo, now);
    publications.deadLetters.push(dl);
    publications.alerts.push(deadLetterAlert(dl, now));
    outcomes.push({ record, outcome: 'malformed' });
  }

  const toIncoming = (v: { record: RawRecord; obs: PaymentObservation }): Incoming => ({
    obs: v.obs,
    position: { partition: v.record.partition, offset: v.record.offset },
  });

  let results: { record: RawRecord; result: Applied | Error }[];
  try {
    const applied = valid.length > 0 ? await inTransaction(deps, valid.map(toIncoming), now) : [];
    results = applied.map((result, i) => ({ record: (valid[i] as { record: RawRecord }).record, result }));
  } catch (err) {
    if (isInfrastructureError(err)) throw err;
    if (valid.length > 1) deps.logger.warn({ err, size: valid.length }, 'batch failed; applying one by one');
    results = [];
    for (const v of valid) {
      try {
        const [one] = await inTransaction(deps, [toIncoming(v)], now);
        results.push({ record: v.record, result: one as Applied });
      } catch (e) {
        if (isInfrastructureError(e)) throw e;
        results.push({ record: v.record, result: e as Error });
      }
    }
  }

  for (const { record, result } of results) {
    if (result instanceof Error) {
      deps.logger.error(
        { err: result, partition: record.partition, offset: record.offset },
        'observation failed',
      );
      const obs = valid.find((v) => v.record === record)?.obs;
      const dl = deadLetter(record, 'processing_failed', result.message, obs?.outTradeNo, now);
      publications.deadLetters.push(dl);
      publications.alerts.push(deadLetterAlert(dl, now));
      outcomes.push({ record, outcome: 'failed' });
      continue;
    }
    outcomes.push({ record, outcome: result.kind, result });
    if (result.kind === 'unknown_order') {
      const dl = deadLetter(
        record,
        'unknown_order',
        `no order ${result.obs.outTradeNo}`,
        result.obs.outTradeNo,
        now,
      );
      publications.deadLetters.push(dl);
      publications.alerts.push(deadLetterAlert(dl, now));
      continue;
    }
    if (result.settled) publications.settled.push(result.settled);
    publications.alerts.push(...result.alerts);
  }
  outcomes.sort((a, b) => Number(BigInt(a.record.offset) - BigInt(b.record.offset)));
  return { outcomes, publications };
}
