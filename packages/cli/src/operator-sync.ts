import {
  AdaptiveRateLimiter,
  auditWriter,
  NO_PUBLISH,
  type RepairRun,
  repairOrders,
  type SyncOrder,
  type SyncResult,
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

/**
 * sync/repair: `repairOrders` (audit before, the sweep's sync — query, close if pending past expiry,
 * publish what WeChat said — then a wait for the ledger and the audit completed), with a progress
 * bar, as rows for the table or --json.
 */
export async function operatorSync(
  res: Resources,
  io: Io,
  orders: readonly SyncOrder[],
  opts: OperatorSyncOptions,
): Promise<OperatorSyncReport> {
  const pool = res.pool();
  const wechat = await res.wechat();
  const publisher = opts.dryRun ? NO_PUBLISH : await res.publisher();
  const bar = progress(io, orders.length, opts.dryRun ? `${opts.action} (dry run)` : opts.action, !opts.json);
  let run: RepairRun;
  try {
    run = await repairOrders(
      {
        pool,
        wechat,
        publisher,
        audit: auditWriter(pool),
        pacer: new AdaptiveRateLimiter({ qps: opts.qps }),
        concurrency: opts.concurrency,
        ledgerWaitMs: opts.waitMs,
        onOrder: () => bar.tick(),
      },
      orders,
      {
        action: opts.action,
        dryRun: opts.dryRun,
        closeExpired: true,
        actor: opts.actor,
        tool: 'payctl',
        producer: 'payctl',
        reason: opts.reason,
      },
    );
  } finally {
    bar.stop();
  }
  const rows: OperatorSyncRow[] = run.repaired.map(({ order, result, auditId, after, applied }) => ({
    outTradeNo: order.outTradeNo,
    before: order.status,
    wechatState: result.wechatState ?? null,
    outcome: result.outcome,
    closed: result.closed,
    wouldBecome: result.prediction?.statusAfter ?? null,
    why: result.prediction?.why ?? result.error?.message ?? null,
    after: after?.status ?? null,
    applied,
    missedNotification: result.missedNotification,
    error: result.error?.code ?? null,
    auditId: auditId ?? null,
  }));
  return {
    dryRun: opts.dryRun,
    correlationId: run.correlationId ?? null,
    rows,
    notSynced: run.notSynced.map((o) => o.outTradeNo),
    breakerOpened: run.breakerOpened,
  };
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
