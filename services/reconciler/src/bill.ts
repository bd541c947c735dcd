import { setTimeout as sleep } from 'node:timers/promises';
import { type Clock, dateClock } from '@paysync/contracts';
import type { Pool, RowDataPacket } from '@paysync/db';
import { type Logger, PAYSYNC_SERVICE_LABEL } from '@paysync/observability';
import {
  type BillRunDeps,
  type BillRunSummary,
  openDifferenceCounts,
  type RefundQuery,
  runTradeBill,
  type SyncDeps,
} from '@paysync/reconcile';
import { addDays, beijingDay, beijingToUtc } from '@paysync/wechatpay';
import { BILL_CUMULATIVE_METRICS, BillMetrics } from './bill-metrics.ts';
import { pushRunMetrics } from './pushgateway.ts';

export const BILL_PRODUCER = 'reconciler-bill';

export type BillJobDeps = {
  pool: Pool;
  /** Signs the bill calls and the refund queries (WeChatPayClient). */
  client: BillRunDeps['client'];
  mchid: string;
  sync: SyncDeps;
  queryRefund?: RefundQuery;
  logger: Logger;
  clock?: Clock;
  signal?: AbortSignal;
};

export type BillJobConfig = {
  /** YYYY-MM-DD; default yesterday in Beijing. */
  billDate?: string | undefined;
  holdDays: number;
  maxDifferences: number;
  archiveDir?: string | undefined;
  /** While STATEMENT_CREATING: ask again after this long, until `deadline` (HH:MM Beijing) of today. */
  retryIntervalMs: number;
  deadline: string;
  /** namespace: pushed as a grouping label, as the sweep does (releases sharing a Pushgateway keep apart). */
  pushgateway?: { url: string; job: string; namespace?: string | undefined } | undefined;
};

/** Yesterday, Beijing time: the day whose bill WeChat makes from 09:00 today. */
export function defaultBillDate(now: Date): string {
  return addDays(beijingDay(now), -1);
}

/** The last bill day that reconciled (or had no bill and nothing to reconcile). */
async function lastSuccessfulDay(pool: Pool, mchid: string): Promise<string | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT DATE_FORMAT(MAX(bill_date), '%Y-%m-%d') AS day FROM trade_bill_runs
      WHERE mchid = ? AND (status = 'succeeded' OR (status = 'no_statement' AND critical_differences = 0))`,
    [mchid],
  );
  return (rows[0]?.day as string | null) ?? undefined;
}

/**
 * One bill CronJob execution: reconcile the day, asking again while WeChat is still making the bill
 * (until the deadline), log the summary, push the metrics. Exit code 0 when the run did its job.
 */
export async function runBillJob(
  deps: BillJobDeps,
  config: BillJobConfig,
): Promise<{ summary: BillRunSummary; exitCode: number; pushed: boolean }> {
  const clock = dateClock(deps.clock);
  const billDate = config.billDate ?? defaultBillDate(clock());
  const deadline = beijingToUtc(`${beijingDay(clock())} ${config.deadline}:00`, 'deadline');
  const runDeps: BillRunDeps = {
    pool: deps.pool,
    client: deps.client,
    mchid: deps.mchid,
    sync: deps.sync,
    clock: deps.clock,
    archiveDir: config.archiveDir,
    ...(deps.queryRefund ? { queryRefund: deps.queryRefund } : {}),
  };
  let summary: BillRunSummary;
  for (;;) {
    summary = await runTradeBill(runDeps, {
      billDate,
      holdDays: config.holdDays,
      maxDifferences: config.maxDifferences,
    });
    const again = new Date(clock().getTime() + config.retryIntervalMs);
    if (summary.status !== 'statement_creating' || again > deadline || deps.signal?.aborted) break;
    deps.logger.info({ billDate, retryAt: again.toISOString() }, 'WeChat Pay is still making the bill');
    try {
      await sleep(config.retryIntervalMs, undefined, { signal: deps.signal });
    } catch {
      break; // stopped (SIGTERM): the run row says statement_creating; the next execution goes on
    }
  }
  const level = summary.exitCode === 0 && summary.critical === 0 ? 'info' : 'error';
  deps.logger[level](
    {
      billDate,
      status: summary.status,
      rows: summary.totals?.rows,
      differences: summary.differences,
      critical: summary.critical,
      held: summary.held,
      actions: summary.actions,
      sha1: summary.file?.sha1,
      error: summary.error,
      durationSeconds: summary.durationSeconds,
    },
    'trade bill run finished',
  );
  let pushed = false;
  if (config.pushgateway) {
    try {
      const metrics = new BillMetrics();
      metrics.record(summary, await openDifferenceCounts(deps.pool));
      metrics.recordLastSuccess(await lastSuccessfulDay(deps.pool, deps.mchid));
      await pushRunMetrics(metrics.registry, {
        url: config.pushgateway.url,
        job: config.pushgateway.job,
        groupings: {
          ...(config.pushgateway.namespace ? { namespace: config.pushgateway.namespace } : {}),
          mchid: deps.mchid,
        },
        cumulative: BILL_CUMULATIVE_METRICS,
        carryGauges: [],
        defaultLabels: [PAYSYNC_SERVICE_LABEL],
      });
      pushed = true;
    } catch (err) {
      deps.logger.warn({ err }, 'bill run metrics not pushed');
    }
  }
  return { summary, exitCode: summary.exitCode, pushed };
}
