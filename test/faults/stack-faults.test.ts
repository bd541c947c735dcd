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
  infraCommand,
  localInfraEnv,
  testEnv,
  uniqueName,
} from '@paysync/testkit';
import { type Sandbox, startSandbox } from '@paysync/wechatpay-sandbox';
import { GatewayClient, rechargeOrder } from '../../scripts/start/clients.ts';
import { CombinedLog } from '../../scripts/start/log.ts';
import { freePorts } from '../../scripts/start/ports.ts';
import { type Stack, startStack } from '../../scripts/start/stack.ts';
import { processesWithMarker } from '../../scripts/start/state.ts';

// The whole money path as processes — the callback-gateway, the points-ledger and the reconciler
// sweep on its schedule, each supervised and restarted like a pod — against the real MariaDB and
// Kafka and the WeChat Pay sandbox. While orders are created and paid, the sandbox loses and
// duplicates notifications; the ledger, the gateway and a running sweep are SIGKILLed; the Kafka
// broker and MariaDB are restarted; WeChat's order queries fail. Once the faults stop and the
// system is quiet, every invariant of docs/DESIGN.md must hold.
//
// PAYSYNC_FAULTS_LOG=1 prints the stack's warnings while it runs; its full logs are kept in the
// temporary directory printed on failure.

const AMOUNTS = [600, 1000, 3000, 5000];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const note = (line: string) => process.stderr.write(`  [stack-faults] ${line}\n`);

let db: IsolatedDatabase;
let topics: { remove: () => Promise<void> };
let sandbox: Sandbox;
/** The sandbox's order-query route (the sweep's question to WeChat). */
const ORDER_QUERY = 'GET /v3/pay/transactions/out-trade-no/:out_trade_no';
let stack: Stack;
let pool: Pool;
let dir: string;
let log: CombinedLog;

beforeAll(async () => {
  db = await createIsolatedDatabase('stack_faults');
  const prefix = uniqueName('stackfaults');
  topics = await createIsolatedTopics(Object.values(topicNames(prefix)), 6);
  sandbox = await startSandbox({ timeScale: 0.001, seed: 9 });
  dir = await mkdtemp(join(tmpdir(), 'paysync-stack-faults-'));
  log = new CombinedLog({ console: process.env.PAYSYNC_FAULTS_LOG ? 'warn' : 'off', dir: join(dir, 'logs') });
  stack = await startStack({
    dir,
    ports: await freePorts(),
    mysqlUrl: db.url,
    kafkaBrokers: testEnv().kafkaBrokers,
    topicPrefix: prefix,
    components: ['gateway', 'ledger', 'reconciler'],
    sandbox: { url: sandbox.url, merchant: sandbox.merchant! },
    sweepEveryMs: 3000,
    log,
    env: {
      orders: { GATEWAY_FIRST_CHECK_DELAY: '3s' },
      reconciler: {
        RECONCILER_BACKOFF: '2s,3s,5s',
        RECONCILER_BACKOFF_THEN: '5s',
        RECONCILER_ERROR_RETRY: '2s',
        RECONCILER_MISSED_NOTIFICATION_AFTER: '2s',
        RECONCILER_QPS: '200',
        WECHATPAY_BREAKER_RESET: '2s',
      },
    },
  });
  await stack.waitReady({ timeoutMs: 120_000 });
  pool = createPool({ url: db.url, connectionLimit: 2 });
}, 180_000);

afterAll(async () => {
  const steps: [string, () => Promise<unknown>][] = [
    ['stack', () => stack?.stop() ?? Promise.resolve()],
    ['sandbox', () => sandbox?.close() ?? Promise.resolve()],
    ['pool', () => pool?.end() ?? Promise.resolve()],
    ['topics', () => topics?.remove() ?? Promise.resolve()],
    ['database', () => db?.drop() ?? Promise.resolve()],
    ['log', () => log?.close() ?? Promise.resolve()],
  ];
  for (const [what, step] of steps) await step().catch((err) => note(`teardown ${what}: ${String(err)}`));
  if (dir && processesWithMarker(dir).length === 0) await rm(dir, { recursive: true, force: true });
}, 120_000);

/** Creates orders through the gateway until stopped; 9 in 10 are paid at the sandbox right after. */
function orderStream(gateway: GatewayClient, created: string[], stop: { now: boolean }): Promise<void> {
  return (async () => {
    for (let i = 0; !stop.now; i++) {
      // The merchant back end retries the same request through restarts (idempotent on its number).
      const order = await gateway.createOrder(
        rechargeOrder(`fault-user-${i % 23}`, AMOUNTS[i % 4] as number),
        180_000,
      );
      created.push(order.out_trade_no);
      if (i % 10 !== 9) {
        const no = order.out_trade_no;
        setTimeout(() => sandbox.pay(no), 50 + (i % 5) * 50);
      }
      await sleep(120);
    }
  })();
}

async function statusCounts(): Promise<Record<string, number>> {
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT CONCAT(status, '/', COALESCE(settled_via, '-')) AS k, COUNT(*) AS n FROM payment_orders GROUP BY k",
  );
  return Object.fromEntries(rows.map((r) => [String(r.k), Number(r.n)]));
}

describe('the whole stack under faults', () => {
  it('settles every order paid at WeChat exactly once through kills, restarts, lost notifications and failing queries', async () => {
    const gateway = new GatewayClient(stack.urls.orders as string, stack.secrets.apiToken);
    const created: string[] = [];
    const stop = { now: false };
    // Only the local servers (scripts/infra.ts) can be restarted from here.
    const local = await localInfraEnv();
    const localServers =
      new URL(local.MYSQL_URL).port === new URL(db.url).port &&
      testEnv().kafkaBrokers.join(',') === local.KAFKA_BROKERS;
    const atLeast = (n: number) =>
      eventually(`${n} orders created`, async () => (created.length >= n ? true : undefined), {
        timeoutMs: 180_000,
        intervalMs: 100,
      });

    sandbox.setFaults({ dropNotificationShare: 0.2, duplicateNotificationShare: 0.2, duplicateCopies: 2 });
    const stream = orderStream(gateway, created, stop);
    try {
      await atLeast(40);
      note(`SIGKILL ledger (${created.length} orders so far)`);
      await stack.process('ledger').kill();

      await atLeast(80);
      note(`SIGKILL gateway (${created.length})`);
      await stack.process('gateway').kill();

      await atLeast(110);
      const sweep = stack.sweep!;
      const queries = () =>
        Object.values(sandbox.counters().requests[ORDER_QUERY] ?? {}).reduce((sum, n) => sum + n, 0);
      for (let attempt = 1; attempt <= 10; attempt++) {
        const pid = await eventually('a sweep in progress', async () => sweep.pid, {
          timeoutMs: 30_000,
          intervalMs: 5,
        });
        // Mid-sweep is once this run asks WeChat (started, connected, claimed): a sweep with little
        // to do can be over within a few hundred milliseconds of its start, so no fixed delay is.
        const before = queries();
        const querying = await eventually(
          'the sweep querying WeChat, or its end',
          async () => (sweep.pid !== pid ? false : queries() > before ? true : undefined),
          { timeoutMs: 30_000, intervalMs: 2 },
        );
        if (!querying) continue;
        const killed = await sweep.kill();
        if (killed?.signal === 'SIGKILL') {
          note(`SIGKILL reconciler mid-sweep (${created.length} orders, attempt ${attempt})`);
          break;
        }
      }

      await atLeast(140);
      note(`WeChat queries fail (${created.length})`);
      sandbox.setFaults({ failNextQueries: 40, failStatus: 503 });

      await atLeast(170);
      if (localServers) {
        note(`Kafka restart (${created.length})`);
        await infraCommand('down', 'kafka');
        await sleep(2000);
        await infraCommand('up');

        await atLeast(created.length + 30);
        note(`MariaDB restart (${created.length})`);
        await infraCommand('down', 'mariadb');
        await sleep(2000);
        await infraCommand('up');
      } else {
        note(
          'MYSQL_URL/KAFKA_BROKERS are not the local infrastructure: broker and database restarts skipped',
        );
      }

      await atLeast(created.length + 30);
    } finally {
      stop.now = true;
      await stream;
    }
    sandbox.resetFaults();
    await sleep(500); // the last payments of the stream
    note(`stream stopped after ${created.length} orders; waiting for the system to be quiet`);

    // Quiet: every order WeChat reports paid is paid here (the lost notifications found by sweeps).
    const paidAtWeChat = () =>
      sandbox
        .orders()
        .filter((o) => o.trade_state === 'SUCCESS' || o.trade_state === 'REFUND')
        .map((o) => ({
          outTradeNo: o.out_trade_no,
          transactionId: o.transaction_id as string,
          amountTotal: o.amount.total,
          mchid: o.mchid,
          appid: o.appid,
        }));
    await eventually(
      'every order paid at WeChat to be paid here',
      async () => {
        const paid = paidAtWeChat().map((p) => p.outTradeNo);
        const [rows] = await pool.query<RowDataPacket[]>(
          "SELECT COUNT(*) AS n FROM payment_orders WHERE status = 'paid' AND out_trade_no IN (?)",
          [paid],
        );
        return Number(rows[0]?.n) === paid.length ? true : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 1000 },
    ).catch(async (err: Error) => {
      throw new Error(
        `${err.message}\n  orders by status/settled_via: ${JSON.stringify(await statusCounts())}\n  logs: ${dir}`,
      );
    });

    const paid = paidAtWeChat();
    const report = await checkInvariants(pool, { paidAtWeChat: paid, paidAtWeChatIsComplete: true });
    expect(report.violations).toEqual([]);
    expect(report.checked.paidAtWeChat).toBeGreaterThan(150);
    expect(report.checked.orders).toBe(created.length);

    // The faults really happened, and both ways of learning of a payment were used.
    const counts = await statusCounts();
    note(`orders: ${JSON.stringify(counts)}`);
    expect(counts['paid/notification']).toBeGreaterThan(0);
    expect(counts['paid/query']).toBeGreaterThan(0);
    expect(stack.process('ledger').restarts).toBeGreaterThanOrEqual(1);
    expect(stack.process('gateway').restarts).toBeGreaterThanOrEqual(1);
    expect(stack.sweep!.runs.some((r) => r.signal === 'SIGKILL')).toBe(true);
    // The broker restart reached the money path: notifications refused (503) until Kafka was back.
    const metrics = await (await fetch(stack.urls.gatewayMetrics as string)).text();
    const refused = /paysync_gateway_notifications_total\{[^}]*outcome="kafka_unavailable"[^}]*\} (\d+)/.exec(
      metrics,
    );
    if (localServers) expect(Number(refused?.[1] ?? 0)).toBeGreaterThan(0);
    note(
      `ledger restarts ${stack.process('ledger').restarts}, gateway restarts ${stack.process('gateway').restarts}, ` +
        `sweeps ${stack.sweep!.runs.length} (failed ${stack.sweep!.runs.filter((r) => r.code !== 0).length}), ` +
        `notifications refused during the Kafka restart ${refused?.[1] ?? 0}`,
    );
    const c = sandbox.counters();
    expect(c.notifications.dropped).toBeGreaterThan(0);
    expect(c.notifications.duplicated).toBeGreaterThan(0);
    expect(c.faults.injectedErrors).toBeGreaterThan(0);
  }, 420_000);
});
