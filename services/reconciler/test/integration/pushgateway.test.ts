import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, REPO_ROOT } from '@paysync/testkit';
import { closedPort, createReconcilerWorld, type ReconcilerWorld, sleep } from '../world.ts';

// A real Prometheus Pushgateway (Debian's), started for this file and stopped after it.
let pushgateway: ChildProcess;
let pgwUrl = '';
let world: ReconcilerWorld;

beforeAll(async () => {
  const local = join(REPO_ROOT, '.cache/bin/prometheus-pushgateway');
  const port = await closedPort();
  // Debian's build persists to /var/lib/prometheus/pushgateway.data by default: keep this one in memory.
  pushgateway = spawn(
    existsSync(local) ? local : 'prometheus-pushgateway',
    [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file='],
    { stdio: 'ignore' },
  );
  pgwUrl = `http://127.0.0.1:${port}`;
  await eventually(
    'the Pushgateway to be ready',
    async () => ((await fetch(`${pgwUrl}/-/ready`)).ok ? true : undefined),
    {
      timeoutMs: 20_000,
    },
  );
  world = await createReconcilerWorld('rec_pushgw', { ledger: false });
});
afterAll(async () => {
  await world?.close();
  if (pushgateway && pushgateway.exitCode === null) {
    const exited = new Promise((r) => pushgateway.once('exit', r));
    pushgateway.kill('SIGTERM');
    await exited;
  }
});

/** One sample's value from the Pushgateway's /metrics, for our job and shard. */
async function sample(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return sampleOf('paysync_reconciler', name, labels);
}

async function sampleOf(
  job: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const text = await (await fetch(`${pgwUrl}/metrics`)).text();
  const wanted = { job, shard: '0-of-1', ...labels };
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(wanted).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** WeChat Pay answering 503 to every query, and a client whose breaker opens after two failures. */
async function wechatDown() {
  const wechat = await world.makeClient({
    volumeThreshold: 2,
    errorThresholdPercentage: 50,
    resetTimeoutMs: 60_000,
  });
  world.sandbox.setFaults({ failNextQueries: 1000, failStatus: 503 });
  await sleep(400);
  return wechat;
}

const pushgatewayConfig = () => ({ pushgateway: { url: pgwUrl, job: 'paysync_reconciler' } });

describe('run metrics on the Pushgateway', () => {
  it('pushes each run’s metrics, keeps counters growing across runs and the last success through a failed run', async () => {
    const first = await world.createOrders(10);
    for (const o of first.slice(0, 4)) world.pay(o);
    const r1 = await world.sweep(pushgatewayConfig());
    expect(r1.pushed).toBe(true);
    expect(await sample('paysync_reconciler_orders_checked_total', { outcome: 'paid' })).toBe(4);
    expect(await sample('paysync_reconciler_orders_checked_total', { outcome: 'pending' })).toBe(6);
    expect(await sample('paysync_reconciler_missed_notifications_total')).toBe(4);
    expect(await sample('paysync_reconciler_runs_total', { status: 'ok' })).toBe(1);
    expect(await sample('paysync_reconciler_last_run_status', { status: 'ok' })).toBe(1);
    expect(await sample('paysync_reconciler_last_run_orders_checked')).toBe(10);
    const success1 = await sample('paysync_reconciler_last_success_timestamp_seconds');
    expect(success1).toBeGreaterThan(Date.now() / 1000 - 60);
    // No probe configured: no "notify URL unhealthy" (a never-set gauge would read 0).
    expect(await sample('paysync_reconciler_notify_url_healthy')).toBeUndefined();

    // Second run: counters continue from what the first pushed.
    const second = await world.createOrders(5);
    for (const o of second.slice(0, 3)) world.pay(o);
    await sleep(400);
    const r2 = await world.sweep(pushgatewayConfig());
    expect(r2.report.status).toBe('ok');
    expect(await sample('paysync_reconciler_orders_checked_total', { outcome: 'paid' })).toBe(
      4 + (r2.report.outcomes.paid ?? 0),
    );
    expect(await sample('paysync_reconciler_missed_notifications_total')).toBe(
      4 + r2.report.missedNotifications,
    );
    expect(r2.report.missedNotifications).toBe(3);
    expect(await sample('paysync_reconciler_runs_total', { status: 'ok' })).toBe(2);
    const success2 = (await sample('paysync_reconciler_last_success_timestamp_seconds'))!;
    expect(success2).toBeGreaterThanOrEqual(success1!);

    // A failed run (WeChat down, breaker open): the last success stays where it was.
    await world.createOrders(10);
    const wechat = await wechatDown();
    const r3 = await world.sweep({ ...pushgatewayConfig(), concurrency: 1 }, { wechat });
    world.sandbox.resetFaults();
    expect(r3.report.status).toBe('breaker_open');
    expect(r3.pushed).toBe(true);
    expect(await sample('paysync_reconciler_last_run_status', { status: 'breaker_open' })).toBe(1);
    expect(await sample('paysync_reconciler_last_run_status', { status: 'ok' })).toBe(0);
    expect(await sample('paysync_reconciler_wechat_breaker_open')).toBe(1);
    expect(await sample('paysync_reconciler_runs_total', { status: 'breaker_open' })).toBe(1);
    expect(await sample('paysync_reconciler_runs_total', { status: 'ok' })).toBe(2);
    expect(await sample('paysync_reconciler_errors_total', { code: 'SERVER_ERROR' })).toBe(
      r3.report.errors.SERVER_ERROR,
    );
    expect(await sample('paysync_reconciler_last_success_timestamp_seconds')).toBe(success2);
    expect(await sample('paysync_reconciler_last_run_timestamp_seconds')).toBeGreaterThanOrEqual(success2);
  });

  it('pushes no last success before the first one, so that absent() can page for a reconciler that never succeeded', async () => {
    const job = 'paysync_reconciler_fresh';
    await world.createOrders(5);
    const wechat = await wechatDown();
    const failed = await world.sweep({ pushgateway: { url: pgwUrl, job }, concurrency: 1 }, { wechat });
    world.sandbox.resetFaults();
    expect(failed.report.status).toBe('breaker_open');
    expect(failed.pushed).toBe(true);
    expect(await sampleOf(job, 'paysync_reconciler_last_run_status', { status: 'breaker_open' })).toBe(1);
    expect(await sampleOf(job, 'paysync_reconciler_last_success_timestamp_seconds')).toBeUndefined();
  });

  it('keeps two releases sharing a Pushgateway apart by namespace: counters never mix', async () => {
    const job = 'paysync_reconciler_shared';
    const push = (namespace: string) => world.sweep({ pushgateway: { url: pgwUrl, job, namespace } });
    const prod = await push('pay-prod');
    const staging = await push('pay-staging');
    const again = await push('pay-prod');
    const runs = async (namespace: string) =>
      sampleOf(job, 'paysync_reconciler_runs_total', { namespace, status: 'ok' });
    expect([prod.pushed, staging.pushed, again.pushed]).toEqual([true, true, true]);
    expect(await runs('pay-prod')).toBe(2);
    expect(await runs('pay-staging')).toBe(1);
  });
});
