import { createHash } from 'node:crypto';
import {
  type Clock,
  type DeadLetteredObservation,
  dateClock,
  type MessageInput,
  type PaymentObservation,
  TOPICS,
  tryDecodeMessage,
} from '@paysync/contracts';
import {
  isDataError,
  isLockWaitTimeout,
  isRetryableTransactionError,
  type Pool,
  withTransaction,
} from '@paysync/db';
import type { Logger } from '@paysync/observability';
import { checkEvidence, type EvidenceReader, EvidenceRefusedError } from '@paysync/orders';
import { type Publications, writeOutbox } from './outbox.ts';
import { type Applied, applyObservations, type Incoming, type Verdict } from './settle.ts';

export type { Publications } from './outbox.ts';

/** One consumed Kafka record, as the pipeline needs it. */
export type RawRecord = {
  topic: string;
  partition: number;
  offset: string;
  value: Buffer | null;
  timestamp: string;
};

export type RecordOutcome = {
  record: RawRecord;
  /** `blocked`: its order's row is locked elsewhere; not applied, to be consumed again. */
  outcome: Applied['kind'] | 'malformed' | 'failed' | 'blocked';
  result?: Applied;
};

export type PipelineDeps = {
  pool: Pool;
  logger: Logger;
  /** Checks each observation's signed evidence before anything is applied (DESIGN invariant 6). */
  evidence: EvidenceReader;
  clock?: Clock;
  /** Transaction attempts on deadlock / lock-wait timeout before giving up (default 5). */
  maxAttempts?: number;
};

/** How much of an original value a dead letter carries (see DeadLetteredObservation.originalValue). */
export const DEAD_LETTER_VALUE_BYTES = 64 * 1024;

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
    ...originalOf(record.value),
    originalTopic: record.topic,
    originalPartition: record.partition,
    originalOffset: record.offset,
    ...(outTradeNo && /^[A-Za-z0-9_\-|*]{1,64}$/.test(outTradeNo) ? { outTradeNo } : {}),
    failedAt: now.toISOString(),
  };
}

/** The original value, whole when small, otherwise its beginning; with its size and hash. */
function originalOf(value: Buffer | null) {
  const bytes = value ?? Buffer.alloc(0);
  const truncated = bytes.length > DEAD_LETTER_VALUE_BYTES;
  // A cut in the middle of a UTF-8 sequence decodes to U+FFFD: harmless in a prefix kept for people.
  const kept = truncated ? bytes.subarray(0, DEAD_LETTER_VALUE_BYTES) : bytes;
  return {
    originalValue: kept.toString('utf8'),
    originalBytes: bytes.length,
    originalSha256: createHash('sha256').update(bytes).digest('hex'),
    ...(truncated ? { originalTruncated: true } : {}),
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

/**
 * Applies items in one transaction and, in the same transaction, writes what they lead to
 * publishing into the outbox (ledger_outbox): the events exist exactly when the settlement does.
 */
async function inTransaction(
  deps: PipelineDeps,
  items: { incoming: Incoming; record: RawRecord }[],
  now: Date,
): Promise<Applied[]> {
  const attempts = deps.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(deps.pool, async (conn) => {
        const applied = await applyObservations(
          conn,
          items.map((i) => i.incoming),
          now,
        );
        const publications = emptyPublications();
        for (const [i, a] of applied.entries()) {
          addApplied(publications, (items[i] as { record: RawRecord }).record, a, now);
        }
        await writeOutbox(conn, publications);
        return applied;
      });
    } catch (err) {
      // A lock-wait timeout is not retried here: the lock is someone else's, and waiting again
      // would keep the whole partition (and Kafka's session) waiting with it. See processRecords.
      if (!isRetryableTransactionError(err) || isLockWaitTimeout(err) || attempt >= attempts) throw err;
      deps.logger.debug({ attempt, size: items.length }, 'transaction conflict; retrying');
      await new Promise((r) => setTimeout(r, 5 * attempt * Math.random()));
    }
  }
}

function emptyPublications(): Publications {
  return { settled: [], alerts: [], deadLetters: [] };
}

/** What one applied observation leads to publishing: its event and alerts, or a dead letter. */
function addApplied(into: Publications, record: RawRecord, result: Applied, now: Date): void {
  if (result.kind === 'unknown_order') {
    const dl = deadLetter(
      record,
      'unknown_order',
      `no order ${result.obs.outTradeNo}`,
      result.obs.outTradeNo,
      now,
    );
    into.deadLetters.push(dl);
    into.alerts.push(deadLetterAlert(dl, now));
    return;
  }
  if (result.settled) into.settled.push(result.settled);
  into.alerts.push(...result.alerts);
}

/** The evidence check's verdict; anything but a refusal of the evidence (the archive unreadable) throws. */
async function verdictOf(reader: EvidenceReader, obs: PaymentObservation): Promise<Verdict> {
  try {
    return { ok: true, reading: await checkEvidence(reader, obs) };
  } catch (err) {
    if (err instanceof EvidenceRefusedError) return { ok: false, code: err.code, message: err.message };
    throw err;
  }
}

/**
 * When this many records of one chunk fail alone with "data" errors, the data is probably not what
 * is wrong: a schema the code does not expect (a CHECK constraint too strict, a column too short
 * after a bad migration) would otherwise dead-letter the whole stream, a few records at a time.
 * Genuinely bad records that pass the contract are rare; three in one chunk are treated as a fault.
 */
const SUSPICIOUS_FAILURES = 3;

/** Thrown when a chunk's failures look like the database's fault rather than the records'. */
class SuspiciousFailuresError extends Error {
  constructor(failed: number, size: number, options?: { cause?: unknown }) {
    super(
      `${failed} of ${size} observations failed alone with data errors: treated as a database fault`,
      options,
    );
    this.name = 'SuspiciousFailuresError';
  }
}

/**
 * Applies a chunk of consumed records: decodes them, applies the valid ones in one transaction
 * (falling back to one transaction per record to isolate a failing one), and returns what must be
 * published once the transaction has committed. Only a record that fails alone, with an error about
 * its own data (isDataError), is dead-lettered; any other failure — the database down, read-only,
 * without grants, not migrated, full — is thrown, never dead-lettered: the records stay
 * unacknowledged and are consumed again once the database is back.
 */
export async function processRecords(
  deps: PipelineDeps,
  records: readonly RawRecord[],
  /** Keeps the consumer's group membership alive between the transactions of a slow chunk. */
  heartbeat: () => Promise<void> = async () => {},
): Promise<{ outcomes: RecordOutcome[]; publications: Publications }> {
  const now = dateClock(deps.clock)();
  // Everything to publish (for the caller's counts); what no settlement transaction wrote to the
  // outbox — dead letters of malformed and failed records — is written at the end.
  const publications = emptyPublications();
  const unsettled = emptyPublications();
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
    unsettled.deadLetters.push(dl);
    unsettled.alerts.push(deadLetterAlert(dl, now));
    outcomes.push({ record, outcome: 'malformed' });
  }

  // Evidence first, outside the transaction (RSA runs on libuv's pool, in parallel): a message on
  // Kafka is a claim; only what WeChat signed moves money or finality.
  const verdicts = await Promise.all(valid.map((v) => verdictOf(deps.evidence, v.obs)));
  const verdictByRecord = new Map(valid.map((v, i) => [v.record, verdicts[i] as Verdict]));
  const toIncoming = (v: { record: RawRecord; obs: PaymentObservation }) => ({
    record: v.record,
    incoming: {
      obs: v.obs,
      verdict: verdictByRecord.get(v.record) as Verdict,
      position: { partition: v.record.partition, offset: v.record.offset },
    } satisfies Incoming,
  });

  let results: { record: RawRecord; result: Applied | Error | 'blocked' }[];
  try {
    const applied = valid.length > 0 ? await inTransaction(deps, valid.map(toIncoming), now) : [];
    results = applied.map((result, i) => ({ record: (valid[i] as { record: RawRecord }).record, result }));
  } catch (err) {
    const blocked = isLockWaitTimeout(err);
    if (!isDataError(err) && !blocked) throw err;
    await heartbeat();
    if (valid.length > 1) {
      deps.logger.warn({ err, size: valid.length }, 'batch failed; applying one by one');
    }
    // One by one: a record failing alone with a data error is dead-lettered; a record whose order
    // is locked elsewhere is left for later (with every later record of that order), and the others
    // are applied now — a lock on one order does not hold up the rest of the partition.
    results = [];
    const lockedOrders = new Set<string>();
    for (const v of valid) {
      if (lockedOrders.has(v.obs.outTradeNo)) {
        results.push({ record: v.record, result: 'blocked' });
        continue;
      }
      try {
        const [one] = await inTransaction(deps, [toIncoming(v)], now);
        results.push({ record: v.record, result: one as Applied });
      } catch (e) {
        await heartbeat();
        if (isLockWaitTimeout(e)) {
          lockedOrders.add(v.obs.outTradeNo);
          results.push({ record: v.record, result: 'blocked' });
          continue;
        }
        if (!isDataError(e)) throw e;
        results.push({ record: v.record, result: e as Error });
      }
    }
    const failed = results.filter((r) => r.result instanceof Error);
    if (failed.length >= SUSPICIOUS_FAILURES) {
      throw new SuspiciousFailuresError(failed.length, valid.length, { cause: failed[0]?.result });
    }
    if (lockedOrders.size > 0) {
      deps.logger.warn(
        { orders: [...lockedOrders].slice(0, 10), count: lockedOrders.size },
        'orders locked elsewhere: their observations are consumed again once the lock is released',
      );
    }
  }

  for (const { record, result } of results) {
    if (result === 'blocked') {
      outcomes.push({ record, outcome: 'blocked' });
      continue;
    }
    if (result instanceof Error) {
      deps.logger.error(
        { err: result, partition: record.partition, offset: record.offset },
        'observation failed',
      );
      const obs = valid.find((v) => v.record === record)?.obs;
      const dl = deadLetter(record, 'processing_failed', result.message, obs?.outTradeNo, now);
      unsettled.deadLetters.push(dl);
      unsettled.alerts.push(deadLetterAlert(dl, now));
      outcomes.push({ record, outcome: 'failed' });
      continue;
    }
    outcomes.push({ record, outcome: result.kind, result });
    addApplied(publications, record, result, now);
  }
  if (unsettled.deadLetters.length > 0) {
    await withTransaction(deps.pool, (conn) => writeOutbox(conn, unsettled));
  }
  publications.deadLetters.push(...unsettled.deadLetters);
  publications.alerts.push(...unsettled.alerts);
  outcomes.sort((a, b) => Number(BigInt(a.record.offset) - BigInt(b.record.offset)));
  return { outcomes, publications };
}
