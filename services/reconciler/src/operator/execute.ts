import { randomUUID } from 'node:crypto';
import type { OrderStatus } from '@paysync/contracts';
import type { Pool } from '@paysync/db';
import {
  arrayFeed,
  type CallPacer,
  completeAudit,
  insertAudit,
  loadOrders,
  type OrderSnapshot,
  orderSnapshots,
  type Publisher,
  runWorkers,
  type SyncOrder,
  type SyncPolicy,
  type SyncResult,
  selectOrdersCreatedBetween,
  syncOrder,
  type WeChatOrders,
  waitForJournal,
} from '@paysync/reconcile';
import { replayOrder } from './replay.ts';
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

const noPublish: Publisher = { observations: async () => {}, alerts: async () => {}, idle: async () => {} };

/** The orders a spec selects, and the outTradeNos it named that the database does not have. */
export async function selectOrders(
  pool: Pool,
  spec: PaymentRepairSpec,
): Promise<{ orders: SyncOrder[]; unknown: string[] }> {
  if (spec.outTradeNos) {
    const found = await loadOrders(pool, spec.outTradeNos);
    const unknown = spec.outTradeNos.filter((n) => !found.has(n));
    return { orders: spec.outTradeNos.flatMap((n) => found.get(n) ?? []), unknown };
  }
  const limit = spec.limit ?? 10_000;
  const status: OrderStatus = spec.status ?? 'pending';
  const from = new Date(spec.createdFrom as string);
  const to = new Date(spec.createdTo as string);
  const orders: SyncOrder[] = [];
  let afterId = 0;
  while (orders.length < limit) {
    const page = await selectOrdersCreatedBetween(pool, {
      status,
      from,
      to,
      afterId,
      limit: Math.min(1000, limit - orders.length),
    });
    orders.push(...page);
    if (page.length < 1000) break;
    afterId = page.at(-1)!.id;
  }
  return { orders, unknown: [] };
}

/**
 * Executes a PaymentRepair with the sweep's sync (payctl's audit records): for each order, unless
 * dry run, an audit record with the state before; then the sync (query, for `close` also close at
 * WeChat when pending past time_expire, publish) or the replay; then a wait for the ledger, and the
 * audit record completed with what the order became.
 */
export async function executeRepair(
  deps: RepairDeps,
  spec: PaymentRepairSpec,
  actor: string,
): Promise<RepairOutcome> {
  const { orders, unknown } = await selectOrders(deps.pool, spec);
  const counts = { ...zeroCounts(), selected: orders.length, unknown: unknown.length };
  const lines: ReportLine[] = unknown.map((n) => ({ outTradeNo: n, outcome: 'not_found_here' }));
  if (spec.action === 'replay') {
    const correlationId = spec.dryRun ? undefined : randomUUID();
    for (const order of orders) {
      if (deps.signal?.aborted) {
        counts.notSynced += 1;
        continue;
      }
      const r = await replayOrder(deps, order, spec, actor, correlationId);
      lines.push(r.line);
      if (r.line.error) counts.errors += 1;
      else counts.synced += 1;
      if (r.changed) counts.changed += 1;
    }
    return { counts, ...bounded(lines), correlationId };
  }

  const dryRun = spec.dryRun;
  const correlationId = dryRun ? undefined : randomUUID();
  const publisher = dryRun ? noPublish : deps.publisher;
  const before: Map<string, OrderSnapshot> = dryRun
    ? new Map()
    : await orderSnapshots(
        deps.pool,
        orders.map((o) => o.outTradeNo),
      );
  const done: { order: SyncOrder; result: SyncResult; auditId: number | undefined }[] = [];
  let breakerOpened = false;
  const feed = arrayFeed(orders);
  await runWorkers({
    feed,
    concurrency: deps.concurrency,
    stopped: () => breakerOpened || (deps.signal?.aborted ?? false),
    work: async (order) => {
      const auditId = dryRun
        ? undefined
        : await insertAudit(deps.pool, {
            actor,
            tool: AUDIT_TOOL,
            action: spec.action,
            reason: spec.reason,
            dryRun: false,
            outTradeNo: order.outTradeNo,
            before: before.get(order.outTradeNo),
            correlationId,
          });
      const result = await syncOrder(
        {
          wechat: deps.wechat,
          publisher,
          pacer: deps.pacer,
          policy: deps.policy,
          origin: { producer: PRODUCER, actor, reason: spec.reason },
          dryRun,
          closeExpired: spec.action === 'close',
        },
        order,
      );
      if (result.outcome === 'aborted') {
        breakerOpened = true;
        counts.notSynced += 1;
        if (auditId !== undefined)
          await completeAudit(deps.pool, auditId, { outcome: 'aborted', note: 'breaker open: nothing done' });
        return;
      }
      done.push({ order, result, auditId });
    },
  });
  counts.notSynced += feed.remaining().length;

  const after = dryRun ? new Map<string, OrderSnapshot>() : await settle(deps, done);
  for (const { order, result, auditId } of done.sort((a, b) => a.order.id - b.order.id)) {
    const became = dryRun ? result.prediction?.statusAfter : after.get(order.outTradeNo)?.status;
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
  return { counts, ...bounded(lines), correlationId };
}

/** Waits for the ledger, then completes each audit record as payctl does; the orders afterwards. */
async function settle(
  deps: RepairDeps,
  done: { order: SyncOrder; result: SyncResult; auditId: number | undefined }[],
): Promise<Map<string, OrderSnapshot>> {
  const ids = done.flatMap((d) => d.result.observations.map((o) => o.observationId));
  const waited = await waitForJournal(deps.pool, ids, { timeoutMs: deps.ledgerWaitMs });
  const journal = new Map(waited.entries.map((e) => [e.observationId, e]));
  const after = await orderSnapshots(
    deps.pool,
    done.map((d) => d.order.outTradeNo),
  );
  for (const d of done) {
    if (d.auditId === undefined) continue;
    const applied = d.result.observations.map((o) => journal.get(o.observationId));
    await completeAudit(deps.pool, d.auditId, {
      order: after.get(d.order.outTradeNo),
      wechat_state: d.result.wechatState ?? null,
      outcome: d.result.outcome,
      closed_at_wechat: d.result.closed,
      observation_ids: d.result.observations.map((o) => o.observationId),
      ledger: applied.map((e) =>
        e ? { outcome: e.outcome, status_before: e.statusBefore, status_after: e.statusAfter } : null,
      ),
      ...(d.result.error ? { error: d.result.error.code } : {}),
    });
  }
  return after;
}

function bounded(lines: ReportLine[]): { report: ReportLine[]; reportTruncated: boolean } {
  return { report: lines.slice(0, REPORT_LIMIT), reportTruncated: lines.length > REPORT_LIMIT };
}
