import { Counter, createRegistry, Gauge, type Registry } from '@paysync/observability';
import {
  type BillRunSummary,
  DIFFERENCE_CLASSES,
  DIFFERENCE_RULES,
  type DifferenceClass,
  type Severity,
} from '@paysync/reconcile';
import { beijingDayRange } from '@paysync/wechatpay';

export const BILL_RUN_STATUSES = [
  'succeeded',
  'statement_creating',
  'no_statement',
  'failed',
  'locked',
] as const satisfies readonly BillRunSummary['status'][];

export const BILL_CUMULATIVE_METRICS = [
  'paysync_reconciler_bill_runs_total',
  'paysync_reconciler_bill_differences_found_total',
] as const;

/**
 * The metrics of one bill run (pushed to the Pushgateway at its end). Labels are bounded: status,
 * class, severity, row kind.
 */
export class BillMetrics {
  readonly registry: Registry;
  readonly runs: Counter<'status'>;
  readonly found: Counter<'class'>;
  readonly lastSuccessDay: Gauge;
  readonly open: Gauge<'class' | 'severity'>;
  readonly rows: Gauge<'kind'>;
  readonly duration: Gauge;

  constructor() {
    this.registry = createRegistry('reconciler', { processMetrics: false });
    const registers = [this.registry];
    this.runs = new Counter({
      name: 'paysync_reconciler_bill_runs_total',
      help: 'Trade-bill runs by status.',
      labelNames: ['status'],
      registers,
    });
    this.found = new Counter({
      name: 'paysync_reconciler_bill_differences_found_total',
      help: 'Differences found by trade-bill runs, by class (a re-run of a day counts them again).',
      labelNames: ['class'],
      registers,
    });
    this.lastSuccessDay = new Gauge({
      name: 'paysync_reconciler_bill_last_success_day_timestamp_seconds',
      help: 'Start (00:00 Beijing, as Unix time) of the last bill day reconciled successfully.',
      registers,
    });
    this.open = new Gauge({
      name: 'paysync_reconciler_bill_open_differences',
      help: 'Differences not resolved (open or held), by class and severity, read from the database at push time.',
      labelNames: ['class', 'severity'],
      registers,
    });
    this.rows = new Gauge({
      name: 'paysync_reconciler_bill_rows',
      help: 'Rows of the last bill read, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.duration = new Gauge({
      name: 'paysync_reconciler_bill_duration_seconds',
      help: 'Duration of the last bill run.',
      registers,
    });
    for (const status of BILL_RUN_STATUSES) this.runs.inc({ status }, 0);
    for (const cls of DIFFERENCE_CLASSES) {
      this.found.inc({ class: cls }, 0);
      this.open.set({ class: cls, severity: DIFFERENCE_RULES[cls].severity }, 0);
      this.open.set({ class: cls, severity: 'critical' }, 0);
    }
  }

  record(
    summary: BillRunSummary,
    open: readonly { class: DifferenceClass; severity: Severity; count: number }[],
  ): void {
    this.runs.inc({ status: summary.status });
    this.duration.set(summary.durationSeconds);
    for (const cls of DIFFERENCE_CLASSES) this.found.inc({ class: cls }, summary.differences[cls]);
    for (const o of open) this.open.set({ class: o.class, severity: o.severity }, o.count);
    // A day WeChat made no bill for (NO_STATEMENT_EXIST) was reconciled with no row of any kind.
    const totals =
      summary.totals ??
      (summary.status === 'succeeded' || summary.status === 'no_statement'
        ? { payments: 0, refunds: 0, revoked: 0 }
        : undefined);
    if (totals) {
      this.rows.set({ kind: 'payment' }, totals.payments);
      this.rows.set({ kind: 'refund' }, totals.refunds);
      this.rows.set({ kind: 'revoked' }, totals.revoked);
    }
  }

  /** The last bill day reconciled successfully (from the database: a backfill never moves it back). */
  recordLastSuccess(billDate: string | undefined): void {
    if (billDate) this.lastSuccessDay.set(beijingDayRange(billDate).start.getTime() / 1000);
  }
}
