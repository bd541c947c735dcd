import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { topicNames } from '@paysync/contracts';
import { createPool, type Pool, type RowDataPacket } from '@paysync/db';
import {
  checkInvariants,
  createIsolatedDatabase,
  createIsolatedTopics,
  eventually,
  type IsolatedDatabase,
  testEnv,
  uniqueName,
} from '@paysync/testkit';
import { GatewayClient, rechargeOrder, SandboxControl } from '../../scripts/start/clients.ts';
import { CombinedLog } from '../../scripts/start/log.ts';
import { freePorts } from '../../scripts/start/ports.ts';
import { ALL_COMPONENTS, type Stack, startStack } from '../../scripts/start/stack.ts';
import { processesWithMarker } from '../../scripts/start/state.ts';

// The incident, replayed on everything `npm start` runs — the sandbox process, the gateway, the
// points-ledger, the alerting service with its local mail and robot sinks, the reconciler sweep on
// its schedule, Prometheus with the chart's rules, Alertmanager with the chart's routing, the
// Pushgateway: WeChat Pay can no longer reach the notify URL, a user pays, and paysync must still
// settle the order, count the missed notification and tell people — by the reconciler's own alert
// and by Prometheus' rule through Alertmanager. Then the stack stops and leaves no process behind.

let db: IsolatedDatabase;
let topics: { remove: () => Promise<void> };
let stack: Stack;
let pool: Pool;
let dir: string;
let log: CombinedLog;
let stopped = false;

beforeAll(async () => {
  db = await createIsolatedDatabase('incident');
  const prefix = uniqueName('incident');
  topics = await createIsolatedTopics(Object.values(topicNames(prefix)), 3);
  dir = await mkdtemp(join(tmpdir(), 'paysync-incident-'));
  log = new CombinedLog({ console: process.env.PAYSYNC_FAULTS_LOG ? 'warn' : 'off', dir: join(dir, 'logs') });
  stack = await startStack({
    dir,
    ports: await freePorts(),
    mysqlUrl: db.url,
    kafkaBrokers: testEnv().kafkaBrokers,
    topicPrefix: prefix,
    components: ALL_COMPONENTS,
    timeScale: 0.001,
    sweepEveryMs: 3000,
    log,
    env: {
      orders: { GATEWAY_FIRST_CHECK_DELAY: '2s' },
      reconciler: { RECONCILER_MISSED_NOTIFICATION_AFTER: '2s' },
    },
  });
  await stack.waitReady({ timeoutMs: 150_000 });
  pool = createPool({ url: db.url, connectionLimit: 2 });
}, 200_000);

afterAll(async () => {
  if (!stopped) await stack?.stop().catch(() => {});
  await pool?.end().catch(() => {});
  await topics?.remove().catch(() => {});
  await db?.drop().catch(() => {});
  await log?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

async function settledVia(outTradeNo: string): Promise<string | undefined> {
  const [[row]] = await pool.query<RowDataPacket[]>(
    'SELECT status, settled_via FROM payment_orders WHERE out_trade_no = ?',
    [outTradeNo],
  );
  return row?.status === 'paid' ? String(row.settled_via) : undefined;
}

describe('the incident on the whole local stack', () => {
  it('settles a payment whose notification cannot arrive, and tells people through both alert paths', async () => {
    const gateway = new GatewayClient(stack.urls.orders as string, stack.secrets.apiToken);
    const sandbox = new SandboxControl(stack.urls.sandbox as string);
    const sinks = stack.sinks!;

    // Normal day: the notification settles the order.
    const normal = await gateway.createOrder(rechargeOrder('incident-user', 1000));
    await sandbox.pay(normal.out_trade_no);
    expect(await eventually('the notified order to settle', () => settledVia(normal.out_trade_no))).toBe(
      'notification',
    );

    // The incident: WeChat Pay cannot reach the notify URL. The user pays anyway.
    await sandbox.setFaults({ notifyUnreachable: 'refused' });
    const missed = await gateway.createOrder(rechargeOrder('incident-user', 3000));
    await sandbox.pay(missed.out_trade_no);
    expect(
      await eventually('the reconciler to settle the missed order', () => settledVia(missed.out_trade_no), {
        timeoutMs: 60_000,
        intervalMs: 250,
      }),
    ).toBe('query');

    // The reconciler's own alert about the order, by mail and on DingTalk …
    const about = (channel: string) =>
      eventually(
        `the missed_notification alert on ${channel}`,
        async () =>
          sinks.messages.find(
            (m) => m.channel === channel && `${m.title}\n${m.text}`.includes(missed.out_trade_no),
          ),
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    expect((await about('mail')).text).toContain('missed_notification');
    expect((await about('dingtalk')).text).toContain('missed_notification');
    // … and Prometheus' rule on the reconciler's pushed counter, through Alertmanager.
    const rule = await eventually(
      'PaysyncMissedNotifications through Alertmanager',
      async () => sinks.messages.find((m) => m.text.includes('PaysyncMissedNotifications')),
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(rule.channel === 'mail' || rule.channel === 'dingtalk').toBe(true);

    const orders = await sandbox.orders();
    const paid = orders
      .filter((o) => o.trade_state === 'SUCCESS' || o.trade_state === 'REFUND')
      .map((o) => ({
        outTradeNo: o.out_trade_no,
        transactionId: o.transaction_id as string,
        amountTotal: o.amount.total,
        mchid: o.mchid,
        appid: o.appid,
      }));
    const report = await checkInvariants(pool, { paidAtWeChat: paid, paidAtWeChatIsComplete: true });
    expect(report.violations).toEqual([]);
    expect(report.checked.paidAtWeChat).toBe(2);

    // Stopping leaves nothing behind: no process carries this stack's marker.
    const pids = stack.processes.map((p) => p.pid).filter((pid): pid is number => pid !== undefined);
    expect(pids).toHaveLength(stack.processes.length);
    expect(processesWithMarker(stack.marker).sort()).toEqual(expect.arrayContaining([...pids].sort()));
    stopped = true;
    await stack.stop();
    expect(processesWithMarker(stack.marker)).toEqual([]);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(pids.filter(alive)).toEqual([]);
  }, 300_000);
});
