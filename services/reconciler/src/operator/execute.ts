import { randomUUID } from 'node:crypto';
import type { Pool } from '@paysync/db';
import {
  auditWriter,
  type CallPacer,
  type Publisher,
  type RepairSelection,
  repairOrders,
  replayLastObservation,
  type SyncOrder,
  type SyncPolicy,
  selectRepairOrders,
  type WeChatOrders,
} from '@paysync/reconcile';
import type { PaymentRepairSpec, RepairCounts, ReportLine } from './resource.ts';
import { REPORT_LIMIT, zeroCounts } from './resource.ts';

/** The audit log's tool column for everything the operator does (payctl writes `payctl`). */
export const AUDIT_TOOL = 'operator';
/** The producer name on the observations the operator publishes. */
export const PRODUCER = 'reconciler-operator';

export type RepairDeps = {
  pool: Pool;
  wechat: WeChatOrders;
  publisher: Publisher;
  pacer: CallPacer;
  policy: SyncPolicy;
  concurrency: number;
  ledgerWaitMs: number;
  /** Stops taking orders (leadership lost, shutdown): the rest are reported not synced. */
  signal?: AbortSignal | undefined;
};

export type RepairOutcome = {
  counts: RepairCounts;
  report: ReportLine[];
  reportTruncated: boolean;
  correlationId: string | undefined;
};

/** The orders a spec selects, and the outTradeNos it named that the database does not have. */
export function selectOrders(
  pool: Pool,
  spec: PaymentRepairSpec,
): Promise<{ orders: SyncOrder[]; unknown: string[] }> {
  const selection: RepairSelection = spec.outTradeNos
    ? { outTradeNos: spec.outTradeNos }
    : {
        status: spec.status ?? 'pending',
        from: new Date(spec.createdFrom as string),
        to: new Date(spec.createdTo as string),
        limit: spec.limit ?? 10_000,
      };
  return selectRepairOrders(pool, selection);
}

/**
 * Executes a PaymentRepair with payctl's flows: `repairOrders` for sync and close (close also closes
 * at WeChat orders pending past time_expire), `replayLastObservation` for replay; the same audit
 * records as payctl (tool `operator`), counted and reported in the resource's status.
 */
export async function executeRepair(
  deps: RepairDeps,
  spec: PaymentRepairSpec,
  actor: string,
): Promise<RepairOutcome> {
  const { orders, unknown } = await selectOrders(deps.pool, spec);
  const counts = { ...zeroCounts(), selected: orders.length, unknown: unknown.length };
  const lines: ReportLine[] = unknown.map((n) => ({ outTradeNo: n, outcome: 'not_found_here' }));
  const who = { actor, tool: AUDIT_TOOL, producer: PRODUCER, reason: spec.reason };
  const audit = auditWriter(deps.pool);
  if (spec.action === 'replay') {
    const correlationId = spec.dryRun ? undefined : randomUUID();
    const mode = spec.replayMode ?? 'resend';
    for (const order of orders) {
      if (deps.signal?.aborted) {
        counts.notSynced += 1;
        continue;
      }
      const base = { outTradeNo: order.outTradeNo, before: order.status };
      const r = await replayLastObservation({ ...deps, audit }, order.outTradeNo, {
        ...who,
        mode,
        dryRun: spec.dryRun,
        correlationId,
      });
      if (!r.found) {
        counts.errors += 1;
        lines.push({ ...base, outcome: 'error', error: 'NOTHING_TO_REPLAY' });
        continue;
      }
      counts.synced += 1;
      const wechatState = r.message.tradeState;
      if (r.dryRun) {
        lines.push({ ...base, outcome: mode === 'reapply' ? 'would_reapply' : 'would_resend', wechatState });
        continue;
      }
      if (r.after !== undefined && r.after.status !== order.status) counts.changed += 1;
      lines.push({
        ...base,
        outcome: mode === 'reapply' ? 'reapplied' : 'resent',
        wechatState,
        ...(r.after ? { after: r.after.status } : {}),
        ...(r.auditId !== undefined ? { auditId: r.auditId } : {}),
      });
    }
    return { counts, ...bounded(lines), correlationId };
  }

  const run = await repairOrders({ ...deps, audit }, orders, {
    ...who,
    action: spec.action,
    dryRun: spec.dryRun,
    closeExpired: spec.action === 'close',
  });
  counts.notSynced += run.notSynced.length;
  for (const { order, result, auditId, after } of run.repaired) {
    const became = spec.dryRun ? result.prediction?.statusAfter : after?.status;
    if (result.outcome === 'error') counts.errors += 1;
    else counts.synced += 1;
    if (result.outcome === 'paid' || result.outcome === 'paid_at_close') counts.paid += 1;
    if (result.closed) counts.closed += 1;
    if (result.missedNotification) counts.missedNotifications += 1;
    if (became !== undefined && became !== order.status) counts.changed += 1;
    lines.push({
      outTradeNo: order.outTradeNo,
      outcome: result.outcome,
      before: order.status,
      ...(result.wechatState ? { wechatState: result.wechatState } : {}),
      ...(became ? { after: became } : {}),
      ...(result.error ? { error: result.error.code } : {}),
      ...(auditId !== undefined ? { auditId } : {}),
    });
  }
  return { counts, ...bounded(lines), correlationId: run.correlationId };
}

function bounded(lines: ReportLine[]): { report: ReportLine[]; reportTruncated: boolean } {
  return { report: lines.slice(0, REPORT_LIMIT), reportTruncated: lines.length > REPORT_LIMIT };
}
