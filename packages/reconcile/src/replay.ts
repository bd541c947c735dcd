import { randomUUID } from 'node:crypto';
import { type PaymentObservation, paymentObservation } from '@paysync/contracts';
import type { Pool } from '@paysync/db';
import { type AuditWriter, type OrderSnapshot, orderSnapshots } from './audit.ts';
import { type JournalEntry, orderJournal, waitForJournal } from './journal.ts';
import type { Publisher } from './publisher.ts';
import type { RepairActor } from './repair.ts';

/**
 * resend: the very same message (same observation id): the ledger recognises the repeat, changes
 * nothing, and re-publishes what it led to (order-settled, alerts) — "resend the callback".
 * reapply: a copy with a new id and source `manual` (actor, reason): the ledger decides again.
 */
export type ReplayMode = 'resend' | 'reapply';

export type ReplayDeps = {
  pool: Pool;
  /** Not used in a dry run. */
  publisher: Publisher;
  /** Not used in a dry run. */
  audit: AuditWriter;
  /** How long a reapply waits for the ledger to apply the copy. */
  ledgerWaitMs: number;
};

export type ReplayOptions = RepairActor & {
  mode: ReplayMode;
  dryRun: boolean;
  /** The audit record's correlation id (default: the published observation's id). */
  correlationId?: string | undefined;
};

export type Replay =
  /** The order has no journaled observation: nothing to replay. */
  | { found: false }
  | {
      found: true;
      mode: ReplayMode;
      dryRun: boolean;
      /** The journaled observation replayed. */
      original: PaymentObservation;
      /** What is (dry run: would be) published. */
      message: PaymentObservation;
      /** The rest only when not a dry run. */
      before?: OrderSnapshot | undefined;
      after?: OrderSnapshot | undefined;
      auditId?: number | undefined;
      /** What the ledger did with a reapplied copy (a resend changes nothing: not waited for). */
      ledger?: JournalEntry | undefined;
    };

/**
 * Publishes an order's last journaled observation again (payctl replay, the operator's replay): the
 * message chosen by `mode`; unless dry run, an audit record with the order before, the publish, for a
 * reapply a wait for the ledger, and the audit record completed with the order after.
 */
export async function replayLastObservation(
  deps: ReplayDeps,
  outTradeNo: string,
  opts: ReplayOptions,
): Promise<Replay> {
  const last = (await orderJournal(deps.pool, outTradeNo, 1)).at(-1);
  if (!last) return { found: false };
  const original = paymentObservation.parse(last.payload);
  const reapply = opts.mode === 'reapply';
  const message: PaymentObservation = reapply
    ? paymentObservation.parse({
        ...original,
        observationId: randomUUID(),
        source: 'manual',
        producer: opts.producer,
        actor: opts.actor,
        reason: opts.reason,
      })
    : original;
  const replay = { found: true as const, mode: opts.mode, dryRun: opts.dryRun, original, message };
  if (opts.dryRun) return replay;

  const before = (await orderSnapshots(deps.pool, [outTradeNo])).get(outTradeNo);
  const auditId = await deps.audit.insert({
    actor: opts.actor,
    tool: opts.tool,
    action: 'replay',
    reason: opts.reason ?? '',
    dryRun: false,
    outTradeNo,
    before,
    correlationId: opts.correlationId ?? message.observationId,
  });
  await deps.publisher.observations([message]);
  const applied = reapply
    ? await waitForJournal(deps.pool, [message.observationId], { timeoutMs: deps.ledgerWaitMs })
    : undefined;
  const after = (await orderSnapshots(deps.pool, [outTradeNo])).get(outTradeNo);
  const ledger = applied?.entries[0];
  await deps.audit.complete(auditId, {
    order: after,
    mode: opts.mode,
    observation_id: message.observationId,
    replayed_observation_id: original.observationId,
    ...(ledger
      ? {
          ledger: {
            outcome: ledger.outcome,
            status_before: ledger.statusBefore,
            status_after: ledger.statusAfter,
          },
        }
      : {}),
  });
  return { ...replay, before, after, auditId, ledger };
}
