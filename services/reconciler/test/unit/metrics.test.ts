import { describe, expect, it } from '@jest/globals';
import type { SyncResult } from '@paysync/reconcile';
import { exitCodeOf, SWEEP_STATUSES, SweepMetrics, type SweepReport } from '../../src/index.ts';

function result(over: Partial<SyncResult>): SyncResult {
  return {
    outTradeNo: 'RC0000001',
    outcome: 'pending',
    statusBefore: 'pending',
    wechatState: 'NOTPAY',
    prediction: undefined,
    closed: false,
    dryRun: false,
    observations: [],
    alerts: [],
    missedNotification: false,
    needsAttention: false,
    schedule: undefined,
    error: undefined,
    rateLimited: 0,
    checkedAt: new Date(),
    ...over,
  };
}

function report(over: Partial<SweepReport>): SweepReport {
  return {
    status: 'ok',
    shard: '0-of-1',
    startedAt: new Date(),
    durationMs: 1500,
    checked: 3,
    outcomes: {},
    missedNotifications: 0,
    needsAttention: 0,
    errors: {},
    rateLimited: 0,
    pages: 1,
    pageSelectMs: [2, 4],
    released: 0,
    remainingDue: 0,
    ...over,
  };
}

async function value(
  m: SweepMetrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const metric = await m.registry.getSingleMetric(name)!.get();
  return metric.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

describe('sweep run metrics', () => {
  it('counts checks by outcome, corrections, missed notifications, 429s and errors by code', async () => {
    const m = new SweepMetrics();
    m.observe(result({ outcome: 'paid', missedNotification: true }));
    m.observe(result({ outcome: 'closed' }));
    m.observe(result({ outcome: 'pending', rateLimited: 2 }));
    m.observe(result({ outcome: 'error', error: { code: 'SERVER_ERROR', message: 'x' } }));
    expect(await value(m, 'paysync_reconciler_orders_checked_total', { outcome: 'paid' })).toBe(1);
    expect(await value(m, 'paysync_reconciler_orders_checked_total', { outcome: 'not_found' })).toBe(0);
    expect(await value(m, 'paysync_reconciler_corrections_total', { outcome: 'closed' })).toBe(1);
    expect(await value(m, 'paysync_reconciler_corrections_total', { outcome: 'pending' })).toBeUndefined();
    expect(await value(m, 'paysync_reconciler_missed_notifications_total')).toBe(1);
    expect(await value(m, 'paysync_reconciler_wechat_rate_limited_total')).toBe(2);
    expect(await value(m, 'paysync_reconciler_errors_total', { code: 'SERVER_ERROR' })).toBe(1);
  });

  it('records the last success only for runs that did their job (not for a skipped one)', async () => {
    const ok = new SweepMetrics();
    ok.finish(report({ status: 'ok' }), new Date(1_700_000_000_000), 100);
    expect(await value(ok, 'paysync_reconciler_last_success_timestamp_seconds')).toBe(1_700_000_000);
    expect(await value(ok, 'paysync_reconciler_last_run_duration_seconds')).toBe(1.5);
    expect(await value(ok, 'paysync_reconciler_last_run_page_select_max_seconds')).toBe(0.004);
    expect(ok.succeeded).toBe(true);
    const skipped = new SweepMetrics();
    skipped.finish(report({ status: 'skipped_locked', checked: 0 }), new Date(1_700_000_000_000), 100);
    expect(skipped.succeeded).toBe(false);
    expect(await value(skipped, 'paysync_reconciler_last_run_status', { status: 'skipped_locked' })).toBe(1);
    expect(await value(skipped, 'paysync_reconciler_last_run_status', { status: 'ok' })).toBe(0);
  });

  it('exits 0 when the run did its job or another run holds the lock, 1 otherwise', () => {
    expect(SWEEP_STATUSES.map((s) => [s, exitCodeOf(s)])).toEqual([
      ['ok', 0],
      ['budget_exhausted', 0],
      ['skipped_locked', 0],
      ['breaker_open', 1],
      ['interrupted', 1],
      ['failed', 1],
    ]);
  });
});
