import { randomUUID } from 'node:crypto';
import { type PaymentObservation, paymentObservation } from '@paysync/contracts';
import {
  completeAudit,
  insertAudit,
  orderJournal,
  orderSnapshots,
  type SyncOrder,
  waitForJournal,
} from '@paysync/reconcile';
import type { RepairDeps } from './execute.ts';
import type { PaymentRepairSpec, ReportLine } from './resource.ts';

/**
 * payctl replay for one order: publishes its last journaled observation again — the very same
 * message (resend: the ledger changes nothing and re-publishes what it led to) or a new manual copy
 * (reapply: the ledger decides again) — with the same audit record payctl writes.
 */
export async function replayOrder(
  deps: Pick<RepairDeps, 'pool' | 'publisher' | 'ledgerWaitMs'>,
  order: SyncOrder,
  spec: PaymentRepairSpec,
  actor: string,
  correlationId: string | undefined,
): Promise<{ line: ReportLine; changed: boolean }> {
  const last = (await orderJournal(deps.pool, order.outTradeNo, 1)).at(-1);
  const base = { outTradeNo: order.outTradeNo, before: order.status };
  if (!last) {
    return { line: { ...base, outcome: 'error', error: 'NOTHING_TO_REPLAY' }, changed: false };
  }
  const original = paymentObservation.parse(last.payload);
  const reapply = spec.replayMode === 'reapply';
  const message: PaymentObservation = reapply
    ? paymentObservation.parse({
        ...original,
        observationId: randomUUID(),
        source: 'manual',
        producer: 'reconciler-operator',
        actor,
        reason: spec.reason,
      })
    : original;
  if (spec.dryRun) {
    return {
      line: { ...base, outcome: reapply ? 'would_reapply' : 'would_resend', wechatState: message.tradeState },
      changed: false,
    };
  }
  const before = (await orderSnapshots(deps.pool, [order.outTradeNo])).get(order.outTradeNo);
  const auditId = await insertAudit(deps.pool, {
    actor,
    tool: 'operator',
    action: 'replay',
    reason: spec.reason,
    dryRun: false,
    outTradeNo: order.outTradeNo,
    before,
    correlationId: correlationId ?? message.observationId,
  });
  await deps.publisher.observations([message]);
  const applied = reapply
    ? await waitForJournal(deps.pool, [message.observationId], { timeoutMs: deps.ledgerWaitMs })
    : undefined;
  const after = (await orderSnapshots(deps.pool, [order.outTradeNo])).get(order.outTradeNo);
  const entry = applied?.entries[0];
  await completeAudit(deps.pool, auditId, {
    order: after,
    mode: reapply ? 'reapply' : 'resend',
    observation_id: message.observationId,
    replayed_observation_id: original.observationId,
    ...(entry
      ? {
          ledger: {
            outcome: entry.outcome,
            status_before: entry.statusBefore,
            status_after: entry.statusAfter,
          },
        }
      : {}),
  });
  return {
    line: {
      ...base,
      outcome: reapply ? 'reapplied' : 'resent',
      wechatState: message.tradeState,
      ...(after ? { after: after.status } : {}),
      auditId,
    },
    changed: after !== undefined && after.status !== order.status,
  };
}
