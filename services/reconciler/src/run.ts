import { type Clock, dateClock } from '@paysync/contracts';
import type { Pool } from '@paysync/db';
import { type Logger, PAYSYNC_SERVICE_LABEL } from '@paysync/observability';
import type { RefundApi } from '@paysync/orders';
import {
  type AdaptiveRateLimiter,
  type NotifyProbeResult,
  notifyUrlUnhealthyAlert,
  type ObservationOrigin,
  type Publisher,
  probeNotifyUrl,
  type RefundSweepReport,
  type Shard,
  type SyncPolicy,
  shardLabel,
  sweepRefunds,
  type WeChatOrders,
} from '@paysync/reconcile';
import { CARRIED_GAUGES, CUMULATIVE_METRICS, SweepMetrics } from './metrics.ts';
import { pushRunMetrics } from './pushgateway.ts';
import { runSweep, type SweepReport, type SweepStatus } from './sweep.ts';

export const PRODUCER = 'reconciler';

export type SweepJobDeps = {
  pool: Pool;
  wechat: WeChatOrders & RefundApi;
  publisher: Publisher;
  pacer: AdaptiveRateLimiter;
  logger: Logger;
  clock?: Clock;
  signal?: AbortSignal;
  metrics?: SweepMetrics;
};

export type SweepJobConfig = {
  shard: Shard;
  pageSize: number;
  concurrency: number;
  budgetMs: number;
  claimLeaseMs: number;
  policy: SyncPolicy;
  useLock?: boolean;
  notify?:
    | { url: string; probeUrl?: string | undefined; timeoutMs: number; allowInsecure: boolean }
    | undefined;
  /** namespace: pushed as a grouping label (releases sharing a Pushgateway keep apart). */
  pushgateway?: { url: string; job: string; namespace?: string | undefined } | undefined;
  /**
   * Refunds under way are driven by shard 0's run (one at a time across runs): creates sent again
   * until WeChat answers, then queried until final. Creates need paysync's notify URL.
   */
  refunds?: { notifyUrl: string | undefined; limit: number } | undefined;
};

export type SweepJobResult = {
  report: SweepReport;
  exitCode: number;
  probe: NotifyProbeResult | undefined;
  pushed: boolean;
  /** The refund sweep's report (shard 0 with refunds configured), else undefined. */
  refunds: RefundSweepReport | undefined;
};

/** Kubernetes retries a CronJob pod that exits non-zero: only runs that did not do their job do. */
export function exitCodeOf(status: SweepStatus): number {
  return status === 'ok' || status === 'budget_exhausted' || status === 'skipped_locked' ? 0 : 1;
}

/**
 * One CronJob execution: probe the notify URL, sweep, record the run's metrics, push them to the
 * Pushgateway, and say with the exit code whether the run did its job.
 */
export async function runSweepJob(deps: SweepJobDeps, config: SweepJobConfig): Promise<SweepJobResult> {
  const clock = dateClock(deps.clock);
  const metrics = deps.metrics ?? new SweepMetrics();
  const origin: ObservationOrigin = { producer: PRODUCER };
  const log = deps.logger.child({ shard: shardLabel(config.shard) });

  let probe: NotifyProbeResult | undefined;
  if (config.notify) {
    probe = await probeNotifyUrl(config.notify.url, {
      probeUrl: config.notify.probeUrl,
      timeoutMs: config.notify.timeoutMs,
      allowInsecure: config.notify.allowInsecure,
    });
    metrics.recordNotifyProbe(probe.healthy, probe.latencyMs);
    if (probe.healthy) {
      log.info(
        { notifyUrl: probe.url, status: probe.status, latencyMs: probe.latencyMs },
        'notify URL is healthy',
      );
    } else {
      log.error({ notifyUrl: probe.url, problem: probe.problem }, 'notify URL cannot receive notifications');
      const alert = notifyUrlUnhealthyAlert(PRODUCER, clock(), probe.url, {
        problem: probe.problem ?? null,
        status: probe.status ?? null,
        static_problems: probe.check.problems.map((p) => p.code).join(',') || null,
      });
      await deps.publisher
        .alerts([alert])
        .catch((err) => log.error({ err }, 'could not publish the notify URL alert'));
    }
  }

  const report = await runSweep(
    {
      pool: deps.pool,
      logger: log,
      sync: {
        wechat: deps.wechat,
        publisher: deps.publisher,
        pacer: deps.pacer,
        policy: config.policy,
        clock: deps.clock,
        origin,
      },
      onResult: (result) => {
        metrics.observe(result);
        if (result.missedNotification) {
          log.warn(
            { outTradeNo: result.outTradeNo, outcome: result.outcome },
            'missed notification: paid at WeChat, never notified',
          );
        }
        if (result.outcome === 'paid_at_close') {
          log.warn({ outTradeNo: result.outTradeNo }, 'paid between the last NOTPAY and the close');
        }
        if (result.needsAttention) log.warn({ outTradeNo: result.outTradeNo }, 'order needs attention');
      },
      ...(deps.signal ? { signal: deps.signal } : {}),
    },
    {
      shard: config.shard,
      pageSize: config.pageSize,
      concurrency: config.concurrency,
      budgetMs: config.budgetMs,
      claimLeaseMs: config.claimLeaseMs,
      ...(config.useLock !== undefined ? { useLock: config.useLock } : {}),
    },
  );
  const refunds =
    config.refunds && config.refunds.limit > 0 && config.shard.index === 0 && report.status !== 'failed'
      ? await sweepRefunds(
          {
            pool: deps.pool,
            wechat: deps.wechat,
            publisher: deps.publisher,
            logger: log,
            producer: PRODUCER,
            notifyUrl: config.refunds.notifyUrl,
            clock: deps.clock,
            pace: () => deps.pacer.acquire(),
          },
          { limit: config.refunds.limit },
        )
      : undefined;
  await deps.publisher.idle();
  const pacer = deps.pacer.stats();
  metrics.finish(report, clock(), pacer.minQpsSeen);

  let pushed = false;
  if (config.pushgateway) {
    try {
      const { carried } = await pushRunMetrics(metrics.registry, {
        url: config.pushgateway.url,
        job: config.pushgateway.job,
        groupings: {
          ...(config.pushgateway.namespace ? { namespace: config.pushgateway.namespace } : {}),
          shard: shardLabel(config.shard),
        },
        cumulative: CUMULATIVE_METRICS,
        carryGauges: CARRIED_GAUGES.map((name) => ({ name, setThisRun: metrics.succeeded })),
        defaultLabels: [PAYSYNC_SERVICE_LABEL],
        beforePush: (carriedGauges) =>
          metrics.dropUnmeasured(carriedGauges.has('paysync_reconciler_last_success_timestamp_seconds')),
      });
      pushed = true;
      if (!carried)
        log.warn('could not read the previous run’s counters from the Pushgateway; counters restart');
    } catch (err) {
      log.error({ err }, 'could not push the run metrics to the Pushgateway');
    }
  }

  const exitCode = exitCodeOf(report.status);
  const cpu = process.cpuUsage();
  const summary = {
    status: report.status,
    exitCode,
    durationMs: Math.round(report.durationMs),
    checked: report.checked,
    outcomes: report.outcomes,
    missedNotifications: report.missedNotifications,
    needsAttention: report.needsAttention,
    errors: report.errors,
    rateLimited: report.rateLimited,
    minQps: pacer.minQpsSeen,
    pages: report.pages,
    pageSelectMaxMs: Math.round(Math.max(0, ...report.pageSelectMs) * 100) / 100,
    released: report.released,
    remainingDue: report.remainingDue,
    notifyUrlHealthy: probe?.healthy,
    ...(refunds ? { refunds } : {}),
    processCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    pushed,
    ...(report.failure ? { failure: report.failure } : {}),
  };
  if (exitCode === 0) log.info(summary, 'sweep finished');
  else log.error(summary, 'sweep failed');
  return { report, exitCode, probe, pushed, refunds };
}
