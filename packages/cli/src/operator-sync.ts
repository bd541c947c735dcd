import { randomUUID } from 'node:crypto';
import {
  AdaptiveRateLimiter,
  arrayFeed,
  completeAudit,
  insertAudit,
  type JournalEntry,
  type OrderSnapshot,
  orderSnapshots,
  type Publisher,
  runWorkers,
  type SyncOrder,
  type SyncResult,
  syncOrder,
  waitForJournal,
} from '@paysync/reconcile';
import { table } from './format.ts';
import { type Io, paint } from './io.ts';
import { progress } from './progress.ts';
import type { Resources } from './resources.ts';

export type OperatorSyncOptions = {
  action: 'sync' | 'repair';
  dryRun: boolean;
  actor: string;
  reason: string | undefined;
  qps: number;
  concurrency: number;
  waitMs: number;
  json: boolean;
};

export type OperatorSyncRow = {
  outTradeNo: string;
  before: string;
  wechatState: string | null;
  outcome: SyncResult['outcome'];
  closed: boolean;
  wouldBecome: string | null;
  why: string | null;
  after: string | null;
  applied: boolean;
  missedNotification: boolean;
  error: string | null;
  auditId: number | null;
};

export type OperatorSyncReport = {
  dryRun: boolean;
  correlationId: string | null;
  rows: OperatorSyncRow[];
  notSynced: string[];
  breakerOpened: boolean;
};

const noPublish: Publisher = { observations: async () => {}, alerts: async () => {}, idle: async () => {} };

/**
 * sync/repair: for each order, (unless dry run) an audit record with the order's state before, then
 * the same sync the sweep runs — query, close if pending past expiry, publish what WeChat said — then
 * a wait for the ledger so the audit record can say what the order became.
 */
export async function operatorSync(
  res: Resources,
  io: Io,
  orders: readonly SyncOrder[],
  opts: OperatorSyncOptions,
): Promise<OperatorSyncReport> {
  const pool = res.pool();
  const wechat = await res.wechat();
  const publisher = opts.dryRun ? noPublish : await res.publisher();
  const correlationId = opts.dryRun ? null : randomUUID();
  const before: Map<string, OrderSnapshot> = opts.dryRun
    ? new Map()
    : await orderSnapshots(
        pool,
        orders.map((o) => o.outTradeNo),
      );
  const pacer = new AdaptiveRateLimiter({ qps: opts.qps });
  const done: { order: SyncOrder; result: SyncResult; auditId: number | null }[] = [];
  const notSynced: string[] = [];
  let breakerOpened = false;
  const bar = progress(io, orders.length, opts.dryRun ? `${opts.action} (dry run)` : opts.action, !opts.json);
  const feed = arrayFeed(orders);
  try {
    await runWorkers({
      feed,
      concurrency: opts.concurrency,
      stopped: () => breakerOpened,
      work: async (order) => {
        const auditId = opts.dryRun
          ? null
          : await insertAudit(pool, {
              actor: opts.actor,
              tool: 'payctl',
              action: opts.action,
              reason: opts.reason ?? '',
              dryRun: false,
              outTradeNo: order.outTradeNo,
              before: before.get(order.outTradeNo),
              correlationId: correlationId ?? undefined,
            });
        const result = await syncOrder(
          {
            wechat,
            publisher,
            pacer,
            origin: { producer: 'payctl', actor: opts.actor, reason: opts.reason },
            dryRun: opts.dryRun,
          },
          order,
        );
        bar.tick();
        if (result.outcome === 'aborted') {
          breakerOpened = true;
          notSynced.push(order.outTradeNo);
          if (auditId !== null)
            await completeAudit(pool, auditId, { outcome: 'aborted', note: 'breaker open: nothing done' });
          return;
        }
        done.push({ order, result, auditId });
      },
    });
  } finally {
    bar.stop();
  }
  notSynced.push(...feed.remaining().map((o) => o.outTradeNo));

  let journal = new Map<string, JournalEntry>();
  let after = new Map<string, OrderSnapshot>();
  if (!opts.dryRun) {
    const ids = done.flatMap((d) => d.result.observations.map((o) => o.observationId));
    const waited = await waitForJournal(pool, ids, { timeoutMs: opts.waitMs });
    journal = new Map(waited.entries.map((e) => [e.observationId, e]));
    after = await orderSnapshots(
      pool,
      done.map((d) => d.order.outTradeNo),
    );
    for (const d of done) {
      if (d.auditId === null) continue;
      const applied = d.result.observations.map((o) => journal.get(o.observationId));
      await completeAudit(pool, d.auditId, {
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
  }

  const rows: OperatorSyncRow[] = done
    .sort((a, b) => a.order.id - b.order.id)
    .map(({ order, result, auditId }) => {
      const applied =
        result.observations.length > 0 && result.observations.every((o) => journal.has(o.observationId));
      return {
        outTradeNo: order.outTradeNo,
        before: order.status,
        wechatState: result.wechatState ?? null,
        outcome: result.outcome,
        closed: result.closed,
        wouldBecome: result.prediction?.statusAfter ?? null,
        why: result.prediction?.why ?? result.error?.message ?? null,
        after: opts.dryRun ? null : (after.get(order.outTradeNo)?.status ?? null),
        applied,
        missedNotification: result.missedNotification,
        error: result.error?.code ?? null,
        auditId,
      };
    });
  return { dryRun: opts.dryRun, correlationId, rows, notSynced, breakerOpened };
}

/** The table operators read: what WeChat says, what was (or would be) done, what the order became. */
export function renderOperatorSync(io: Io, report: OperatorSyncReport): string {
  const rows = report.rows.map((r) => {
    const changes = r.wouldBecome !== null && r.wouldBecome !== r.before;
    const action = r.error
      ? paint(io, 'red', `error ${r.error}`)
      : report.dryRun
        ? r.closed
          ? 'would close, publish'
          : 'would publish'
        : r.closed
          ? 'closed, published'
          : 'published';
    const result = report.dryRun
      ? changes
        ? paint(io, 'yellow', `→ ${r.wouldBecome}`)
        : 'no change'
      : r.after === null
        ? '-'
        : r.after !== r.before
          ? paint(io, 'green', `→ ${r.after}`)
          : r.applied
            ? 'no change'
            : `${r.after} (ledger not done yet)`;
    return [r.outTradeNo, r.before, r.wechatState ?? '-', action, result, r.why ?? ''];
  });
  const head = report.dryRun
    ? `${paint(io, 'bold', 'DRY RUN')}: WeChat was queried; nothing was closed, published or written.\n`
    : `correlation id ${report.correlationId} (audit log)\n`;
  const tail =
    report.notSynced.length > 0
      ? paint(
          io,
          'red',
          `\n${report.notSynced.length} order(s) not synced: WeChat Pay's circuit breaker is open.\n`,
        )
      : '';
  const changed = report.rows.filter((r) =>
    report.dryRun
      ? r.wouldBecome !== null && r.wouldBecome !== r.before
      : r.after !== null && r.after !== r.before,
  ).length;
  const errors = report.rows.filter((r) => r.error !== null).length;
  const summary = `\n${report.rows.length} order(s) checked: ${changed} ${report.dryRun ? 'would change' : 'changed'}, ${errors} error(s), ${report.notSynced.length} not synced.\n`;
  return head + table(['out_trade_no', 'ours', 'wechat', 'action', 'result', 'why'], rows) + tail + summary;
}
