import { Counter, createRegistry, Gauge, type Registry } from '@paysync/observability';
import { SYNC_OUTCOMES, type SyncResult } from '@paysync/reconcile';
import type { SweepReport, SweepStatus } from './sweep.ts';

export const SWEEP_STATUSES: readonly SweepStatus[] = [
  'ok',
  'budget_exhausted',
  'skipped_locked',
  'breaker_open',
  'interrupted',
  'failed',
];

/** Outcomes that change the order's state here: each is a correction of what we knew. */
const CORRECTIONS = new Set([
  'paid',
  'paid_at_close',
  'closed',
  'already_closed',
  'failed',
  'not_found_expired',
]);

/** Counters that grow across runs: pushed as previous value (read back from the Pushgateway) + this run. */
export const CUMULATIVE_METRICS = [
  'paysync_reconciler_orders_checked_total',
  'paysync_reconciler_missed_notifications_total',
  'paysync_reconciler_corrections_total',
  'paysync_reconciler_errors_total',
  'paysync_reconciler_wechat_rate_limited_total',
  'paysync_reconciler_needs_attention_total',
  'paysync_reconciler_runs_total',
] as const;

/** Gauges kept from the previous push when this run does not set them. */
export const CARRIED_GAUGES = ['paysync_reconciler_last_success_timestamp_seconds'] as const;

/**
 * The metrics of one sweep run (a batch job: pushed to the Pushgateway at the end, not scraped).
 * Label values are bounded enums: outcome, status, error code. Never an order id.
 */
export class SweepMetrics {
  readonly registry: Registry;
  readonly checked: Counter<'outcome'>;
  readonly missed: Counter;
  readonly corrections: Counter<'outcome'>;
  readonly errors: Counter<'code'>;
  readonly rateLimited: Counter;
  readonly needsAttention: Counter;
  readonly runs: Counter<'status'>;
  readonly lastRun: Gauge;
  readonly lastSuccess: Gauge;
  readonly duration: Gauge;
  readonly status: Gauge<'status'>;
  readonly lastRunChecked: Gauge;
  readonly remaining: Gauge;
  readonly pages: Gauge;
  readonly pageSelectMax: Gauge;
  readonly minQueryRate: Gauge;
  readonly breakerOpen: Gauge;
  readonly notifyHealthy: Gauge;
  readonly notifyProbeSeconds: Gauge;
  #succeeded = false;
  #probed = false;

  constructor(registry: Registry = createRegistry('reconciler', { processMetrics: false })) {
    this.registry = registry;
    const r = [registry];
    this.checked = new Counter({
      name: 'paysync_reconciler_orders_checked_total',
      help: 'Orders checked at WeChat Pay, by outcome (cumulative across runs).',
      labelNames: ['outcome'],
      registers: r,
    });
    this.missed = new Counter({
      name: 'paysync_reconciler_missed_notifications_total',
      help: 'Paid orders found by querying that no notification had settled: the notify path is broken.',
      registers: r,
    });
    this.corrections = new Counter({
      name: 'paysync_reconciler_corrections_total',
      help: 'Checks whose answer changes the order here (paid, closed, failed, …), by outcome.',
      labelNames: ['outcome'],
      registers: r,
    });
    this.errors = new Counter({
      name: 'paysync_reconciler_errors_total',
      help: 'Failed checks and run failures, by error code.',
      labelNames: ['code'],
      registers: r,
    });
    this.rateLimited = new Counter({
      name: 'paysync_reconciler_wechat_rate_limited_total',
      help: 'WeChat Pay 429 answers (each halves the query rate for a while).',
      registers: r,
    });
    this.needsAttention = new Counter({
      name: 'paysync_reconciler_needs_attention_total',
      help: 'Checks of orders still pending past their attention horizon (alerted).',
      registers: r,
    });
    this.runs = new Counter({
      name: 'paysync_reconciler_runs_total',
      help: 'Sweep runs by final status.',
      labelNames: ['status'],
      registers: r,
    });
    this.lastRun = new Gauge({
      name: 'paysync_reconciler_last_run_timestamp_seconds',
      help: 'When the last run ended.',
      registers: r,
    });
    this.lastSuccess = new Gauge({
      name: 'paysync_reconciler_last_success_timestamp_seconds',
      help: 'When the last successful run (status ok or budget_exhausted) ended.',
      registers: r,
    });
    this.duration = new Gauge({
      name: 'paysync_reconciler_last_run_duration_seconds',
      help: 'Duration of the last run.',
      registers: r,
    });
    this.status = new Gauge({
      name: 'paysync_reconciler_last_run_status',
      help: 'Status of the last run: 1 for its status, 0 for the others.',
      labelNames: ['status'],
      registers: r,
    });
    this.lastRunChecked = new Gauge({
      name: 'paysync_reconciler_last_run_orders_checked',
      help: 'Orders checked by the last run.',
      registers: r,
    });
    this.remaining = new Gauge({
      name: 'paysync_reconciler_due_orders_remaining',
      help: 'Pending orders still due when the last run ended (a backlog if it stays above 0).',
      registers: r,
    });
    this.pages = new Gauge({
      name: 'paysync_reconciler_last_run_pages',
      help: 'Pages claimed.',
      registers: r,
    });
    this.pageSelectMax = new Gauge({
      name: 'paysync_reconciler_last_run_page_select_max_seconds',
      help: 'Slowest due-orders page selection of the last run.',
      registers: r,
    });
    this.minQueryRate = new Gauge({
      name: 'paysync_reconciler_last_run_min_query_rate',
      help: 'Lowest query rate (calls/s) the last run slowed down to after 429s.',
      registers: r,
    });
    this.breakerOpen = new Gauge({
      name: 'paysync_reconciler_wechat_breaker_open',
      help: '1 when the last run ended with the WeChat Pay circuit breaker open.',
      registers: r,
    });
    this.notifyHealthy = new Gauge({
      name: 'paysync_reconciler_notify_url_healthy',
      help: '1 when the public notify URL reached the gateway from outside; 0 otherwise.',
      registers: r,
    });
    this.notifyProbeSeconds = new Gauge({
      name: 'paysync_reconciler_notify_url_probe_duration_seconds',
      help: 'Duration of the last notify URL probe.',
      registers: r,
    });
    for (const outcome of SYNC_OUTCOMES) this.checked.inc({ outcome }, 0);
    this.missed.inc(0);
  }

  /** Counts one order's check. */
  observe(result: SyncResult): void {
    this.checked.inc({ outcome: result.outcome });
    if (CORRECTIONS.has(result.outcome)) this.corrections.inc({ outcome: result.outcome });
    if (result.missedNotification) this.missed.inc();
    if (result.needsAttention) this.needsAttention.inc();
    if (result.rateLimited > 0) this.rateLimited.inc(result.rateLimited);
    if (result.error && result.outcome === 'error') this.errors.inc({ code: result.error.code });
  }

  /** The notify-URL probe's result (the probe is optional: RECONCILER_NOTIFY_PROBE). */
  recordNotifyProbe(healthy: boolean, latencyMs: number | undefined): void {
    this.notifyHealthy.set(healthy ? 1 : 0);
    if (latencyMs !== undefined) this.notifyProbeSeconds.set(latencyMs / 1000);
    this.#probed = true;
  }

  /**
   * Takes out of the registry what this run did not measure, before it is pushed: prom-client
   * exports an unlabelled gauge never set as 0, which would read "notify URL unhealthy" on every
   * run with the probe off, and "last success in 1970" (so that absent() never fires) before the
   * first success. Call after the carried gauges were filled in (pushRunMetrics does).
   */
  dropUnmeasured(carriedLastSuccess: boolean): void {
    if (!this.#probed) {
      this.registry.removeSingleMetric('paysync_reconciler_notify_url_healthy');
      this.registry.removeSingleMetric('paysync_reconciler_notify_url_probe_duration_seconds');
    }
    if (!this.#succeeded && !carriedLastSuccess) {
      this.registry.removeSingleMetric('paysync_reconciler_last_success_timestamp_seconds');
    }
  }

  /** Records the run's end. */
  finish(report: SweepReport, now: Date, minQueryRate: number | undefined): void {
    const seconds = now.getTime() / 1000;
    this.runs.inc({ status: report.status });
    for (const s of SWEEP_STATUSES) this.status.set({ status: s }, s === report.status ? 1 : 0);
    this.lastRun.set(seconds);
    this.duration.set(report.durationMs / 1000);
    this.lastRunChecked.set(report.checked);
    this.remaining.set(report.remainingDue);
    this.pages.set(report.pages);
    this.pageSelectMax.set(Math.max(0, ...report.pageSelectMs) / 1000);
    this.breakerOpen.set(report.status === 'breaker_open' ? 1 : 0);
    if (minQueryRate !== undefined) this.minQueryRate.set(minQueryRate);
    if (report.failure) this.errors.inc({ code: report.failure.code });
    // A skipped run (lock held) is not a success: a hung run holding the lock must not look healthy.
    if (report.status === 'ok' || report.status === 'budget_exhausted') {
      this.lastSuccess.set(seconds);
      this.#succeeded = true;
    }
  }

  get succeeded(): boolean {
    return this.#succeeded;
  }
}
