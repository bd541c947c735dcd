import { randomUUID } from 'node:crypto';
import type { OrderStatus } from '@paysync/contracts';
import type { Pool } from '@paysync/db';
import { type AuditWriter, type OrderSnapshot, orderSnapshots } from './audit.ts';
import { type JournalEntry, waitForJournal } from './journal.ts';
import { loadOrders, type RangeCursor, selectOrdersCreatedBetween } from './lookup.ts';
import { NO_PUBLISH, type Publisher } from './publisher.ts';
import type { SyncOrder } from './store.ts';
import { syncOrder } from './sync.ts';
import type { CallPacer, SyncPolicy, SyncResult, WeChatOrders } from './sync-types.ts';
import { arrayFeed, runWorkers } from './workers.ts';

/**
 * Who runs an operator action (payctl, the PaymentRepair operator): the audit log's actor and tool
 * columns, the producer named on what is published, and why (required unless dry run).
 */
export type RepairActor = {
  actor: string;
  tool: string;
  producer: string;
  reason: string | undefined;
};

/** Which orders a repair takes: named ones, or one status created in [from, to) (at most `limit`). */
export type RepairSelection =
  | { outTradeNos: readonly string[] }
  | { status: OrderStatus; from: Date; to: Date; limit: number };

/**
 * Step 1, select: the orders a repair takes, and the named out_trade_nos the database does not have.
 * Named orders come in the order asked (each once); a range in (created_at, id) order, page by page.
 */
export async function selectRepairOrders(
  pool: Pool,
  selection: RepairSelection,
): Promise<{ orders: SyncOrder[]; unknown: string[] }> {
  if ('outTradeNos' in selection) {
    const found = await loadOrders(pool, selection.outTradeNos);
    const unknown = selection.outTradeNos.filter((n) => !found.has(n));
    const named = [...new Set(selection.outTradeNos)];
    return { orders: named.flatMap((n) => found.get(n) ?? []), unknown };
  }
  const { status, from, to, limit } = selection;
  const orders: SyncOrder[] = [];
  let after: RangeCursor | undefined;
  while (orders.length < limit) {
    const size = Math.min(1000, limit - orders.length);
    const page = await selectOrdersCreatedBetween(pool, { status, from, to, after, limit: size });
    orders.push(...page);
    const last = page.at(-1);
    if (!last || page.length < size) break;
    after = { createdAt: last.createdAt, id: last.id };
  }
  return { orders, unknown: [] };
}

export type RepairDeps = {
  pool: Pool;
  wechat: WeChatOrders;
  /** Not used in a dry run (which publishes nothing, whatever is passed). */
  publisher: Publisher;
  /** Where the audit records go (not used in a dry run); `auditWriter(pool)` writes operator_audit_log. */
  audit: AuditWriter;
  pacer: CallPacer;
  policy?: SyncPolicy | undefined;
  concurrency: number;
  /** How long to wait for the ledger to apply what was published before reading the orders again. */
  ledgerWaitMs: number;
  /** Stops taking orders (leadership lost, shutdown): the rest are reported not synced. */
  signal?: AbortSignal | undefined;
  /** Called once for each order taken, as soon as WeChat answered (progress). */
  onOrder?: ((order: SyncOrder, result: SyncResult) => void) | undefined;
};

export type RepairOptions = RepairActor & {
  /** The audit log's action column (`sync`, `repair`, `close`). */
  action: string;
  /** Query only: nothing closed, published or written (the results say what would happen). */
  dryRun: boolean;
  /** Close at WeChat pending orders past time_expire that are still unpaid. */
  closeExpired: boolean;
};

export type RepairedOrder = {
  order: SyncOrder;
  result: SyncResult;
  /** The order's audit record (none in a dry run). */
  auditId: number | undefined;
  /** The order once the ledger applied what was published (none in a dry run). */
  after: OrderSnapshot | undefined;
  /** Everything published for it was applied by the ledger within the wait. */
  applied: boolean;
};

export type RepairRun = {
  /** Every audit record of the run carries it (none in a dry run). */
  correlationId: string | undefined;
  /** The orders synced, by id. */
  repaired: RepairedOrder[];
  /** The orders not synced: the breaker opened, or the signal stopped the run. Nothing was done to them. */
  notSynced: SyncOrder[];
  breakerOpened: boolean;
};

/**
 * Repairs orders — payctl sync/repair and the PaymentRepair operator's sync/close — with the sweep's
 * own sync. For each order, unless dry run: an audit record with its state before; then the sync
 * (query WeChat, close if pending past expiry and `closeExpired`, publish the signed observation);
 * then, for the whole run, a wait for the ledger, and each audit record completed with what the
 * order became. A WeChat error on one order is that order's outcome and the others go on; an open
 * breaker stops the run (the orders left are not synced); a database error stops it and is thrown.
 */
export async function repairOrders(
  deps: RepairDeps,
  orders: readonly SyncOrder[],
  opts: RepairOptions,
): Promise<RepairRun> {
  const { dryRun } = opts;
  const correlationId = dryRun ? undefined : randomUUID();
  const before: Map<string, OrderSnapshot> = dryRun
    ? new Map()
    : await orderSnapshots(
        deps.pool,
        orders.map((o) => o.outTradeNo),
      );
  const done: { order: SyncOrder; result: SyncResult; auditId: number | undefined }[] = [];
  const notSynced: SyncOrder[] = [];
  let breakerOpened = false;
  const feed = arrayFeed(orders);
  await runWorkers({
    feed,
    concurrency: deps.concurrency,
    stopped: () => breakerOpened || (deps.signal?.aborted ?? false),
    work: async (order) => {
      const auditId = dryRun
        ? undefined
        : await deps.audit.insert({
            actor: opts.actor,
            tool: opts.tool,
            action: opts.action,
            reason: opts.reason ?? '',
            dryRun: false,
            outTradeNo: order.outTradeNo,
            before: before.get(order.outTradeNo),
            correlationId,
          });
      const result = await syncOrder(
        {
          wechat: deps.wechat,
          publisher: dryRun ? NO_PUBLISH : deps.publisher,
          pacer: deps.pacer,
          ...(deps.policy ? { policy: deps.policy } : {}),
          origin: { producer: opts.producer, actor: opts.actor, reason: opts.reason },
          dryRun,
          closeExpired: opts.closeExpired,
        },
        order,
      );
      deps.onOrder?.(order, result);
      if (result.outcome === 'aborted') {
        breakerOpened = true;
        notSynced.push(order);
        if (auditId !== undefined)
          await deps.audit.complete(auditId, { outcome: 'aborted', note: 'breaker open: nothing done' });
        return;
      }
      done.push({ order, result, auditId });
    },
  });
  notSynced.push(...feed.remaining());
  done.sort((a, b) => a.order.id - b.order.id);
  if (dryRun) {
    return {
      correlationId,
      repaired: done.map((d) => ({ ...d, after: undefined, applied: false })),
      notSynced,
      breakerOpened,
    };
  }

  const ids = done.flatMap((d) => d.result.observations.map((o) => o.observationId));
  const waited = await waitForJournal(deps.pool, ids, { timeoutMs: deps.ledgerWaitMs });
  const journal = new Map<string, JournalEntry>(waited.entries.map((e) => [e.observationId, e]));
  const after = await orderSnapshots(
    deps.pool,
    done.map((d) => d.order.outTradeNo),
  );
  for (const d of done) {
    if (d.auditId === undefined) continue;
    const applied = d.result.observations.map((o) => journal.get(o.observationId));
    await deps.audit.complete(d.auditId, {
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
  return {
    correlationId,
    repaired: done.map((d) => ({
      ...d,
      after: after.get(d.order.outTradeNo),
      applied:
        d.result.observations.length > 0 && d.result.observations.every((o) => journal.has(o.observationId)),
    })),
    notSynced,
    breakerOpened,
  };
}
