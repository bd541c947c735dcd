import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { topicNames } from '@paysync/contracts';
import { createPool, migrateUp, type Pool, type RowDataPacket } from '@paysync/db';
import { AdaptiveRateLimiter, arrayFeed, claimDueOrders, dueOrdersSql, runWorkers } from '@paysync/reconcile';
import { createIsolatedDatabase, createIsolatedTopics, testEnv, uniqueName } from '@paysync/testkit';
import { toPrivateKey, WeChatPayClient } from '@paysync/wechatpay';
import { percentile, processCpuMs, type Scenario } from '../result.ts';
import { lineChart, writeChart } from '../svg.ts';

// The reconciler sweep at scale: 10,000 due pending orders inside a 1,000,000-row payment_orders
// table, swept by the real process (`node services/reconciler/src/main.ts sweep`) against the
// WeChat Pay sandbox (its own process) limited to 500 queries/s. Reports orders/s as a share of that
// limit (target ≥ 90%) and the page-selection time at 1,000,000 rows and at 10,000 rows (target
// < 10 ms, and the same at both sizes: the (status, next_check_at) index makes it size-independent).

const TOTAL_ROWS = Number(process.env.BENCH_SWEEP_TOTAL_ROWS ?? 1_000_000);
const DUE = Number(process.env.BENCH_SWEEP_DUE ?? 10_000);
const QPS = Number(process.env.BENCH_SWEEP_QPS ?? 500);
const PAGE = 500;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SANDBOX_BIN = join(ROOT, 'packages/wechatpay-sandbox/src/bin.ts');
const RECONCILER_MAIN = join(ROOT, 'services/reconciler/src/main.ts');
const DIGITS =
  '(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)';

type SandboxCredentials = {
  url: string;
  merchant: {
    mchid: string;
    appid: string;
    apiV3Key: string;
    certificateSerial: string;
    privateKeyFile: string;
  };
};

async function startSandboxProcess(dir: string): Promise<{ child: ChildProcess; creds: SandboxCredentials }> {
  const child = spawn(process.execPath, [SANDBOX_BIN, '--query-qps', String(QPS), '--credentials-out', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    if (line.includes('wechatpay sandbox listening')) break;
  }
  const creds = JSON.parse(await readFile(join(dir, 'sandbox.json'), 'utf8')) as SandboxCredentials;
  return { child, creds };
}

/**
 * The filler, by INSERT … SELECT in 100k chunks: 70 % paid, 20 % expired with their final rechecks
 * done (next_check_at NULL, as the sweep leaves them 24 h after they became final), 10 % pending and
 * not yet due. It used to give the expired rows a next_check_at in the past: 198,000 final rechecks
 * due at once, which no running system has (migration 0004 clears them), so the sweep spent its
 * whole run on them, never reached the 10,000 due orders (nor the paid ones among them), and the
 * page query sorted 200,000 rows.
 */
async function fill(pool: Pool, rows: number): Promise<void> {
  for (let start = 0; start < rows; start += 100_000) {
    const size = Math.min(100_000, rows - start);
    await pool.query(
      `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total, points,
         status, transaction_id, time_expire, next_check_at, created_at)
       SELECT CONCAT('BF', LPAD(n, 10, '0')), CONCAT('bench-user-', n % 50000), '1900009191', 'wxd678efh567hg6787',
         'NATIVE', 'points recharge', 1000, 1000,
         CASE WHEN n % 10 < 7 THEN 'paid' WHEN n % 10 < 9 THEN 'expired' ELSE 'pending' END,
         CASE WHEN n % 10 < 7 THEN CONCAT('42', LPAD(n, 14, '0')) ELSE NULL END,
         NOW(3) - INTERVAL (n % 43200) MINUTE + INTERVAL 30 MINUTE,
         CASE WHEN n % 10 < 9 THEN NULL ELSE NOW(3) + INTERVAL (1 + n % 600) MINUTE END,
         NOW(3) - INTERVAL (n % 43200) MINUTE
       FROM (SELECT ${start} + a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d AS n
               FROM ${DIGITS} a, ${DIGITS} b, ${DIGITS} c, ${DIGITS} e, ${DIGITS} f) seq
       WHERE n < ${start + size}`,
    );
  }
}

type Due = { outTradeNo: string; nextCheckAt: Date };

/** Order queries the sandbox answered so far (every status, 429s included), from its counters. */
async function queriesSoFar(sandboxUrl: string): Promise<{ answered: number; limited: number }> {
  const counters = (await (await fetch(`${sandboxUrl}/sandbox/counters`)).json()) as {
    requests: Record<string, Record<string, number>>;
  };
  let answered = 0;
  let limited = 0;
  for (const [route, byStatus] of Object.entries(counters.requests)) {
    if (!route.startsWith('GET ') || !route.includes('out-trade-no')) continue;
    for (const [status, n] of Object.entries(byStatus)) {
      if (status === '429') limited += n;
      else answered += n;
    }
  }
  return { answered, limited };
}

/** Samples the sandbox's query counters every `everyMs` until stopped: queries/s over time. */
function queryRateSampler(sandboxUrl: string, everyMs = 1000) {
  const points: { t: number; answered: number; limited: number }[] = [];
  const started = performance.now();
  let last = { t: 0, answered: 0, limited: 0 };
  let stopped = false;
  const loop = (async () => {
    last = { t: 0, ...(await queriesSoFar(sandboxUrl)) };
    while (!stopped) {
      await new Promise((r) => setTimeout(r, everyMs));
      const now = { t: (performance.now() - started) / 1000, ...(await queriesSoFar(sandboxUrl)) };
      const dt = now.t - last.t;
      points.push({
        t: now.t,
        answered: (now.answered - last.answered) / dt,
        limited: (now.limited - last.limited) / dt,
      });
      last = now;
    }
  })();
  return {
    points,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/**
 * Waits (at most `maxMs`) until InnoDB has written back the pages the bulk load dirtied, so the
 * sweep is measured on its own rather than beside MariaDB's background flushing of a million rows.
 * Returns the seconds waited and the dirty pages left.
 */
async function settle(pool: Pool, maxMs = 45_000): Promise<{ seconds: number; dirtyPages: number }> {
  const started = Date.now();
  let dirty = Number.POSITIVE_INFINITY;
  const history: number[] = [];
  while (Date.now() - started < maxMs) {
    const [rows] = await pool.query<RowDataPacket[]>(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_pages_dirty', 'Innodb_buffer_pool_pages_total')",
    );
    const value = (name: string) => Number(rows.find((r) => r.Variable_name === name)?.Value ?? 0);
    dirty = value('Innodb_buffer_pool_pages_dirty');
    history.push(dirty);
    if (dirty <= value('Innodb_buffer_pool_pages_total') * 0.01) break;
    // InnoDB leaves a remainder to its idle flushing: done once 5 s brought less than a 5% drop.
    const before = history.at(-11);
    if (before !== undefined && dirty > before * 0.95) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { seconds: (Date.now() - started) / 1000, dirtyPages: dirty };
}

async function insertDue(
  pool: Pool,
  orders: readonly Due[],
  m: SandboxCredentials['merchant'],
  expire: Date,
) {
  for (let i = 0; i < orders.length; i += 2000) {
    await pool.query(
      `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total, points,
         bonus_points, status, time_expire, next_check_at, created_at) VALUES ?`,
      [
        orders
          .slice(i, i + 2000)
          .map((o, j) => [
            o.outTradeNo,
            `due-user-${(i + j) % 5000}`,
            m.mchid,
            m.appid,
            'NATIVE',
            'points recharge',
            1000,
            1000,
            100,
            'pending',
            expire,
            o.nextCheckAt,
            o.nextCheckAt,
          ]),
      ],
    );
  }
}

/** Times the page query (the sweep's first step of every claim) `n` times. */
async function timeSelect(pool: Pool, n: number): Promise<number[]> {
  const samples: number[] = [];
  const sql = dueOrdersSql();
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const [rows] = await pool.query<RowDataPacket[]>(sql, [new Date(), PAGE]);
    samples.push(performance.now() - started);
    if (rows.length !== PAGE) throw new Error(`page query returned ${rows.length} rows, expected ${PAGE}`);
  }
  return samples;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

export const scenario: Scenario = {
  name: 'reconciler-sweep',
  description: `sweep ${DUE} due orders in a ${TOTAL_ROWS}-row table against the sandbox at a ${QPS} QPS limit`,
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'paysync-bench-sweep-'));
    const big = await createIsolatedDatabase('bench_sweep_1m');
    const small = await createIsolatedDatabase('bench_sweep_10k');
    const bigPool = createPool({ url: big.url, connectionLimit: 4 });
    const smallPool = createPool({ url: small.url, connectionLimit: 2 });
    const prefix = uniqueName('bench_sweep');
    const topics = topicNames(prefix);
    const created = await createIsolatedTopics(Object.values(topics), 6);
    const { child: sandbox, creds } = await startSandboxProcess(dir);
    const m = creds.merchant;
    const client = new WeChatPayClient({
      mchid: m.mchid,
      merchantSerialNo: m.certificateSerial,
      privateKey: toPrivateKey(await readFile(join(dir, m.privateKeyFile), 'utf8')),
      apiV3Key: m.apiV3Key,
      baseUrls: [creds.url],
      allowInsecureHttp: true,
    });
    try {
      await Promise.all([migrateUp(bigPool), migrateUp(smallPool), client.start()]);
      await fetch(`${creds.url}/sandbox/faults`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ notifyUnreachable: 'not_attempted' }),
      });

      // 10,000 orders at WeChat (prepay, as the gateway does), 10% of them paid and never notified,
      // while the 990,000 filler rows go in.
      const t0 = Date.now();
      const now = Date.now();
      const expire = new Date(Math.floor((now + 2 * 3_600_000) / 1000) * 1000);
      const due: Due[] = Array.from({ length: DUE }, (_, i) => ({
        outTradeNo: `BD${now.toString(36)}${String(i).padStart(7, '0')}`,
        nextCheckAt: new Date(now - 600_000 + Math.floor((i * 600_000) / DUE)),
      }));
      const prepay = runWorkers({
        feed: arrayFeed(due),
        concurrency: 64,
        work: async (o) => {
          await client.prepayNative({
            appid: m.appid,
            description: 'points recharge',
            outTradeNo: o.outTradeNo,
            notifyUrl: 'https://pay.example.com/api/payment/wechat/callback',
            amountTotal: 1000,
            timeExpire: expire.toISOString().replace(/\.\d{3}Z$/, '+00:00'),
          });
        },
      });
      await Promise.all([prepay, fill(bigPool, TOTAL_ROWS - DUE)]);
      await runWorkers({
        feed: arrayFeed(due.filter((_, i) => i % 10 === 0)),
        concurrency: 16,
        work: async (o) => {
          const r = await fetch(`${creds.url}/sandbox/orders/${o.outTradeNo}/pay`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{}',
          });
          if (!r.ok) throw new Error(`pay ${o.outTradeNo}: ${r.status}`);
        },
      });
      await insertDue(bigPool, due, m, expire);
      await insertDue(smallPool, due, m, expire);
      await bigPool.query('ANALYZE TABLE payment_orders');
      await smallPool.query('ANALYZE TABLE payment_orders');
      const [[count]] = await bigPool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM payment_orders');
      const setupSeconds = (Date.now() - t0) / 1000;
      const settled = await settle(bigPool);
      const [plan] = await bigPool.query<RowDataPacket[]>(`EXPLAIN ${dueOrdersSql()}`, [new Date(), PAGE]);

      // Page selection at 1,000,000 rows and at 10,000 rows, and a full claim at 10,000.
      await timeSelect(bigPool, 5);
      await timeSelect(smallPool, 5);
      const selectBig = await timeSelect(bigPool, 50);
      const selectSmall = await timeSelect(smallPool, 50);
      const claim = await claimDueOrders(smallPool, {
        cutoff: new Date(),
        limit: PAGE,
        claimUntil: new Date(Date.now() + 600_000),
      });

      // What the client and the sandbox manage at this limit on this machine, without DB or Kafka.
      const barePacer = new AdaptiveRateLimiter({ qps: QPS });
      const bareStarted = performance.now();
      let bare = 0;
      const bareUntil = bareStarted + 3000;
      await runWorkers({
        feed: { next: async () => (performance.now() < bareUntil ? due[bare % DUE] : undefined) },
        concurrency: 32,
        work: async (o) => {
          await barePacer.acquire();
          await client.queryByOutTradeNo(o.outTradeNo);
          bare += 1;
        },
      });
      const bareRate = bare / ((performance.now() - bareStarted) / 1000);
      await new Promise((r) => setTimeout(r, 1500)); // let the sandbox's bucket refill

      // The sweep itself: the real process, as the CronJob runs it.
      const apiV3File = join(dir, 'apiv3.key');
      await writeFile(apiV3File, m.apiV3Key, { mode: 0o600 });
      const loadBefore = loadavg()[0] ?? 0;
      const sandboxCpuBefore = await processCpuMs(sandbox.pid as number);
      const sampler = queryRateSampler(creds.url);
      const sweep = spawn(process.execPath, [RECONCILER_MAIN, 'sweep'], {
        env: {
          PATH: process.env.PATH ?? '',
          MYSQL_URL: big.url,
          KAFKA_BROKERS: testEnv().kafkaBrokers.join(','),
          KAFKA_TOPIC_PREFIX: prefix,
          WECHATPAY_MCHID: m.mchid,
          WECHATPAY_MERCHANT_SERIAL_NO: m.certificateSerial,
          WECHATPAY_PRIVATE_KEY_FILE: join(dir, m.privateKeyFile),
          WECHATPAY_API_V3_KEY_FILE: apiV3File,
          WECHATPAY_BASE_URLS: creds.url,
          WECHATPAY_ALLOW_INSECURE_HTTP: 'true',
          RECONCILER_QPS: String(QPS),
          RECONCILER_CONCURRENCY: '32',
          RECONCILER_PAGE_SIZE: String(PAGE),
          RECONCILER_TIME_BUDGET: '150s',
          RECONCILER_CLAIM_LEASE: '10m',
          RECONCILER_NOTIFY_PROBE: 'false',
          LOG_LEVEL: 'info',
          // e.g. --cpu-prof --cpu-prof-dir=/tmp/prof to see where the sweep spends its CPU
          ...(process.env.BENCH_SWEEP_NODE_OPTIONS
            ? { NODE_OPTIONS: process.env.BENCH_SWEEP_NODE_OPTIONS }
            : {}),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let summary: Record<string, unknown> | undefined;
      for await (const line of createInterface({ input: sweep.stdout! })) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === 'sweep finished' || entry.msg === 'sweep failed') summary = entry;
      }
      const [code] = (await (sweep.exitCode === null ? once(sweep, 'exit') : [sweep.exitCode])) as [number];
      await sampler.stop();
      if (!summary || code !== 0) throw new Error(`sweep exited ${code}: ${JSON.stringify(summary)}`);
      const sandboxCpuMs = (await processCpuMs(sandbox.pid as number)) - sandboxCpuBefore;
      const checked = Number(summary.checked);
      const seconds = Number(summary.durationMs) / 1000;
      const rate = checked / seconds;
      const counters = (await (await fetch(`${creds.url}/sandbox/counters`)).json()) as {
        rateLimited: number;
      };
      const [[paid]] = await bigPool.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM payment_orders WHERE status = 'pending' AND last_wechat_state = 'SUCCESS'",
      );

      const ratio = rate / QPS;
      await writeChart(
        'reconciler-sweep',
        lineChart({
          title: 'Reconciler sweep: order queries per second at WeChat Pay (sandbox)',
          xLabel: 'seconds since the sweep process started',
          yLabel: 'queries/s',
          series: [
            { name: 'answered', points: sampler.points.map((p) => [p.t, p.answered] as const) },
            { name: '429 (over the limit)', points: sampler.points.map((p) => [p.t, p.limited] as const) },
          ],
          hRules: [{ value: QPS, label: `QPS limit ${QPS}` }],
        }),
      );
      const p50Big = percentile(selectBig, 50);
      const p50Small = percentile(selectSmall, 50);
      return {
        value: round(rate, 1),
        unit: 'orders/s',
        baseline: { name: `sandbox query limit (${QPS} QPS)`, value: QPS },
        ratio: round(ratio, 3),
        target: { ratio: 0.9, select_p50_ms: 10 },
        pass: ratio >= 0.9 && p50Big < 10 && percentile(selectBig, 95) < 10,
        extra: {
          table_rows: Number(count?.n),
          due_orders: DUE,
          checked,
          sweep_seconds: round(seconds),
          outcomes: JSON.stringify(summary.outcomes),
          missed_notifications: Number(summary.missedNotifications),
          paid_found_and_scheduled: Number(paid?.n),
          pages: Number(summary.pages),
          page_select_p50_ms_1m: round(p50Big),
          page_select_p95_ms_1m: round(percentile(selectBig, 95)),
          page_select_p50_ms_10k: round(p50Small),
          page_select_p95_ms_10k: round(percentile(selectSmall, 95)),
          page_select_max_ms_in_sweep: Number(summary.pageSelectMaxMs),
          page_claim_ms_10k: round(claim.claimMs),
          page_index: String(plan[0]?.key),
          sweep_429s: Number(summary.rateLimited),
          sweep_process_cpu_ms_per_order: round(Number(summary.processCpuMs) / Math.max(1, checked), 3),
          // The sandbox signs every answer (RSA-2048, as WeChat does): its CPU bounds the rate too.
          sandbox_cpu_ms_per_query: round(sandboxCpuMs / Math.max(1, checked), 3),
          sandbox_rate_limited: counters.rateLimited,
          bare_queries_per_s: round(bareRate, 1),
          sweep_vs_bare: round(rate / bareRate, 3),
          load_average_1m_at_sweep: round(loadBefore, 2),
          setup_seconds: round(setupSeconds, 1),
          innodb_settle_seconds: round(settled.seconds, 1),
          innodb_dirty_pages_at_sweep: settled.dirtyPages,
        },
      };
    } finally {
      await client.close().catch(() => {});
      sandbox.kill('SIGTERM');
      if (sandbox.exitCode === null) await once(sandbox, 'exit').catch(() => {});
      await bigPool.end().catch(() => {});
      await smallPool.end().catch(() => {});
      await big.drop().catch(() => {});
      await small.drop().catch(() => {});
      await created.remove().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  },
};
