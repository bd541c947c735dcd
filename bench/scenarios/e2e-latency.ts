// e2e-latency: WeChat Pay payment notification sent to the callback-gateway → points credited (the
// points-ledger committed the payment and published order-settled, seen here by a consumer), at
// steady open-loop rates. The gateway and the ledger run as processes (the supervisor of `npm
// start`) on real Kafka and MariaDB, with the reconciler's sweep scheduled every few seconds over
// orders the WeChat Pay sandbox knows, so it queries while the notifications flow.
//
// Before each measured window the bench seeds the window's orders (pending, in MariaDB) and signs
// one notification per order with a platform key of its own (public-key mode, as WeChat Pay signs
// today): inside the window it only sends, so its CPU goes to the load and to nothing else.
// Each phase has a deadline: what is not settled `BENCH_E2E_DRAIN_S` after the last send is lost,
// what settled more than `BENCH_E2E_LATE_MS` after it was sent is late; the bench never waits longer.
//
// Phases (rate/s × seconds), then a saturation search: BENCH_E2E_PHASES (default
// "50x10,200x10,500x60,1000x20"), BENCH_E2E_SEARCH_STEPS (default 3, 0 = no search) of
// BENCH_E2E_STEP_S (default 10) seconds each.
//
// Baseline, same run and machine: one Kafka hop (produce with acks=all → consumed) at 500/s.
//
// Run: eval "$(node scripts/infra.ts env)" && node bench/run.ts e2e-latency
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeMessage, TOPICS, topicNames } from '@paysync/contracts';
import { createPool, type Pool } from '@paysync/db';
import { createConsumer, createIdempotentProducer, createKafka } from '@paysync/kafka';
import { createIsolatedDatabase, createIsolatedTopics, testEnv, uniqueName } from '@paysync/testkit';
import { startSandbox } from '@paysync/wechatpay-sandbox';
import type { Consumer } from 'kafkajs';
import { GatewayClient, rechargeOrder } from '../../scripts/start/clients.ts';
import { CALLBACK_PATH } from '../../scripts/start/config.ts';
import { CombinedLog } from '../../scripts/start/log.ts';
import { freePorts } from '../../scripts/start/ports.ts';
import { startStack } from '../../scripts/start/stack.ts';
import { benchPlatform, signedNotifications } from '../notifications.ts';
import { openLoop } from '../open-loop.ts';
import { peakRssMb, percentile, processCpuMs, type Scenario } from '../result.ts';
import { seedPendingOrders } from '../seed.ts';
import { latencyChart, writeChart } from '../svg.ts';

const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const PHASES = env('BENCH_E2E_PHASES', '50x10,200x10,500x60,1000x20')
  .split(',')
  .map((p) => {
    const [rate, seconds] = p.split('x').map(Number);
    if (!rate || !seconds) throw new Error(`BENCH_E2E_PHASES: "${p}" is not <rate>x<seconds>`);
    return { rate, seconds };
  });
const SEARCH_STEPS = Number(env('BENCH_E2E_SEARCH_STEPS', '3'));
const STEP_S = Number(env('BENCH_E2E_STEP_S', '10'));
const DRAIN_S = Number(env('BENCH_E2E_DRAIN_S', '15'));
const LATE_MS = Number(env('BENCH_E2E_LATE_MS', '1000'));
/** Orders the sandbox knows, left unpaid, so every sweep has work (queried on the reconciler's backoff). */
const SWEEP_ORDERS = Number(env('BENCH_E2E_SWEEP_ORDERS', '300'));
const SWEEP_EVERY_MS = Number(env('BENCH_E2E_SWEEP_EVERY_MS', '5000'));
const AMOUNT_FEN = 1000;
/** Targets of the issue: p99 at 500/s, at 1,000/s; what counts as holding a rate in the search. */
const TARGETS: Record<number, number> = { 500: 250, 1000: 1000 };
const SATURATION_P99_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number) => Math.round(n * 100) / 100;

/** A consumer that records when each message arrives; resolves once it has joined its group. */
async function arrivals(topic: string, keyOf: (value: Buffer) => string | undefined) {
  const kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: uniqueName('bench-e2e') });
  const consumer: Consumer = createConsumer(kafka, { groupId: uniqueName('bench-e2e'), maxWaitTimeInMs: 20 });
  const seen = new Map<string, number>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      const at = performance.now();
      for (const message of batch.messages) {
        const key = message.value ? keyOf(message.value) : undefined;
        if (key && !seen.has(key)) seen.set(key, at);
      }
    },
  });
  await joined;
  return { seen, stop: () => consumer.disconnect() };
}

/** Pending orders straight into payment_orders (not due for the sweep within the run). */
function seedOrders(
  pool: Pool,
  merchant: { mchid: string; appid: string },
  count: number,
): Promise<string[]> {
  return seedPendingOrders(pool, {
    prefix: `E2E${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`,
    count,
    digits: 7,
    ...merchant,
    amountFen: AMOUNT_FEN,
    points: 100,
    bonusPoints: 0,
    expiresAt: new Date(Date.now() + 2 * 3_600_000),
    nextCheckAt: new Date(Date.now() + 3_600_000),
  });
}

export type PhaseResult = {
  rate_per_s: number;
  seconds: number;
  sent: number;
  settled: number;
  late: number;
  lost: number;
  refused: number;
  achieved_per_s: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  gateway_p50_ms: number;
  gateway_p99_ms: number;
  /** Sent → the ledger began applying it (order-settled's settledAt): gateway, Kafka, the ledger's fetch. */
  to_ledger_p50_ms: number;
  to_ledger_p99_ms: number;
  /** The ledger began applying it → order-settled seen: evidence, transaction, outbox relay, Kafka. */
  after_ledger_p50_ms: number;
  after_ledger_p99_ms: number;
  /** Process CPU (user + system) per notification sent, over the window and its drain. */
  gateway_cpu_us: number;
  ledger_cpu_us: number;
  sweep_queries: number;
};

/** One measured window: seed and sign first, then send open-loop and wait at most DRAIN_S. */
async function phase(
  ctx: {
    pool: Pool;
    gatewayUrl: string;
    settled: Map<string, number>;
    /** When the ledger began applying each order's payment (settledAt), on this clock. */
    ledgerAt: Map<string, number>;
    sign: (nos: string[]) => ReturnType<typeof signedNotifications>;
    merchant: { mchid: string; appid: string };
    sweepQueries: () => number;
    pids: { gateway: number; ledger: number };
  },
  rate: number,
  seconds: number,
): Promise<PhaseResult> {
  const count = Math.round(rate * seconds);
  const nos = await seedOrders(ctx.pool, ctx.merchant, count);
  const notifications = await ctx.sign(nos);
  const queriesBefore = ctx.sweepQueries();
  const cpuBefore = {
    gateway: await processCpuMs(ctx.pids.gateway),
    ledger: await processCpuMs(ctx.pids.ledger),
  };
  const run = await openLoop({
    url: ctx.gatewayUrl,
    path: CALLBACK_PATH,
    requests: notifications,
    rate,
    connections: 512,
  });
  const deadline = performance.now() + DRAIN_S * 1000;
  while (performance.now() < deadline && nos.some((no) => !ctx.settled.has(no))) await sleep(100);
  const cpuUs = async (name: 'gateway' | 'ledger') =>
    Math.round((((await processCpuMs(ctx.pids[name])) - cpuBefore[name]) * 1000) / count);
  const cpu = { gateway: await cpuUs('gateway'), ledger: await cpuUs('ledger') };
  const latencies: number[] = [];
  const gateway: number[] = [];
  const toLedger: number[] = [];
  const afterLedger: number[] = [];
  let late = 0;
  let refused = 0;
  let lastSettled = 0;
  for (const [i, no] of nos.entries()) {
    const status = run.status[i] as number;
    if (status >= 200 && status < 300) gateway.push((run.answeredAt[i] as number) - (run.dueAt[i] as number));
    else refused += 1;
    const at = ctx.settled.get(no);
    if (at === undefined) continue;
    const ms = at - (run.dueAt[i] as number);
    latencies.push(ms);
    const ledgerAt = ctx.ledgerAt.get(no);
    if (ledgerAt !== undefined) {
      toLedger.push(ledgerAt - (run.dueAt[i] as number));
      afterLedger.push(at - ledgerAt);
    }
    if (ms > LATE_MS) late += 1;
    lastSettled = Math.max(lastSettled, at);
  }
  const first = run.dueAt[0] as number;
  const p = (xs: number[], q: number) => round(percentile(xs, q));
  return {
    rate_per_s: rate,
    seconds,
    sent: count,
    settled: latencies.length,
    late,
    lost: count - latencies.length,
    refused,
    achieved_per_s: round(latencies.length / Math.max(seconds, (lastSettled - first) / 1000)),
    p50_ms: p(latencies, 50),
    p95_ms: p(latencies, 95),
    p99_ms: p(latencies, 99),
    max_ms: round(latencies.length ? Math.max(...latencies) : Number.NaN),
    gateway_p50_ms: p(gateway, 50),
    gateway_p99_ms: p(gateway, 99),
    to_ledger_p50_ms: p(toLedger, 50),
    to_ledger_p99_ms: p(toLedger, 99),
    after_ledger_p50_ms: p(afterLedger, 50),
    after_ledger_p99_ms: p(afterLedger, 99),
    gateway_cpu_us: cpu.gateway,
    ledger_cpu_us: cpu.ledger,
    sweep_queries: ctx.sweepQueries() - queriesBefore,
  };
}

/** Holding a rate: nothing lost and p99 within the 1,000/s bound. */
const holds = (r: PhaseResult) => r.lost === 0 && r.p99_ms <= SATURATION_P99_MS;

async function kafkaHopBaseline(prefix: string, rate: number, seconds: number): Promise<number[]> {
  const topic = `${prefix}.bench-baseline`;
  const created = await createIsolatedTopics([topic], 6);
  const consumer = await arrivals(topic, (v) => v.toString('utf8'));
  const producer = createIdempotentProducer(
    createKafka({ brokers: testEnv().kafkaBrokers, clientId: uniqueName('bench-base') }),
  );
  await producer.connect();
  try {
    const sentAt = new Map<string, number>();
    const sends: Promise<unknown>[] = [];
    const n = rate * seconds;
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const wait = start + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      const id = randomUUID();
      sentAt.set(id, start + (i * 1000) / rate);
      sends.push(producer.send({ topic, acks: -1, messages: [{ key: id, value: id }] }));
    }
    await Promise.all(sends);
    const deadline = Date.now() + 15_000;
    while (consumer.seen.size < sentAt.size && Date.now() < deadline) await sleep(100);
    return [...sentAt].filter(([id]) => consumer.seen.has(id)).map(([id, t]) => consumer.seen.get(id)! - t);
  } finally {
    await producer.disconnect();
    await consumer.stop();
    await created.remove().catch(() => {});
  }
}

export const scenario: Scenario = {
  name: 'e2e-latency',
  description: `notification sent → points credited (order-settled) at open-loop rates ${PHASES.map((p) => `${p.rate}/s×${p.seconds}s`).join(', ')}, then a saturation search; the reconciler sweeps meanwhile`,
  async run() {
    const db = await createIsolatedDatabase('bench_e2e');
    const prefix = uniqueName('benche2e');
    const topics = topicNames(prefix);
    const createdTopics = await createIsolatedTopics(Object.values(topics), 6);
    const sandbox = await startSandbox({ timeScale: 1 });
    const dir = await mkdtemp(join(tmpdir(), 'paysync-bench-e2e-'));
    const platform = await benchPlatform(dir);
    const log = new CombinedLog({ console: 'off', dir: join(dir, 'logs') });
    const ports = await freePorts();
    const stack = await startStack({
      dir,
      ports,
      mysqlUrl: db.url,
      kafkaBrokers: testEnv().kafkaBrokers,
      topicPrefix: prefix,
      components: ['gateway', 'ledger', 'reconciler'],
      sandbox: { url: sandbox.url, merchant: sandbox.merchant! },
      sweepEveryMs: SWEEP_EVERY_MS,
      log,
      env: {
        gateway: { LOG_LEVEL: 'warn', GATEWAY_MAX_IN_FLIGHT: '2048', ...platform.env },
        ledger: { LOG_LEVEL: 'warn', ...platform.env },
        reconciler: { LOG_LEVEL: 'warn' },
      },
    });
    const ledgerAt = new Map<string, number>();
    const settled = await arrivals(topics.orderSettled, (v) => {
      const m = decodeMessage(TOPICS.orderSettled, v);
      if (m.status !== 'paid') return undefined;
      // settledAt is the ledger's wall clock (same machine), in ms: onto performance.now()'s scale.
      if (!ledgerAt.has(m.outTradeNo))
        ledgerAt.set(m.outTradeNo, Date.parse(m.settledAt) - performance.timeOrigin);
      return m.outTradeNo;
    });
    const pool = createPool({ url: db.url, connectionLimit: 2 });
    try {
      await stack.waitReady({ timeoutMs: 120_000 });
      const merchant = sandbox.merchant!;
      // The sweep's work: orders created through the order API, never paid, due 10 s later.
      const gateway = new GatewayClient(stack.urls.orders as string, stack.secrets.apiToken);
      for (let i = 0; i < SWEEP_ORDERS; i++) {
        await gateway.createOrder(rechargeOrder(`bench-sweep-${i % 97}`, AMOUNT_FEN), 30_000);
      }
      const sweepQueries = () =>
        Object.entries(sandbox.counters().requests)
          .filter(([route]) => route.startsWith('GET ') && route.includes('out-trade-no'))
          .reduce((n, [, byStatus]) => n + Object.values(byStatus).reduce((a, b) => a + b, 0), 0);
      const ctx = {
        pool,
        gatewayUrl: stack.urls.gateway as string,
        settled: settled.seen,
        ledgerAt,
        pids: {
          gateway: stack.process('gateway').pid as number,
          ledger: stack.process('ledger').pid as number,
        },
        merchant: { mchid: merchant.mchid, appid: merchant.appid },
        sign: (nos: string[]) =>
          signedNotifications({
            platform,
            apiV3Key: merchant.apiV3Key,
            mchid: merchant.mchid,
            appid: merchant.appid,
            outTradeNos: nos,
            amountFen: AMOUNT_FEN,
          }),
        sweepQueries,
      };
      // Warm-up: JIT, connections, the consumer's fetch loop.
      await phase(ctx, 100, 3);
      const phases: PhaseResult[] = [];
      for (const { rate, seconds } of PHASES) {
        const r = await phase(ctx, rate, seconds);
        console.log(
          `  ${rate}/s × ${seconds}s: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, late ${r.late}, lost ${r.lost}; p50/p99 gateway ${r.gateway_p50_ms}/${r.gateway_p99_ms} ms, to the ledger ${r.to_ledger_p50_ms}/${r.to_ledger_p99_ms} ms, after it ${r.after_ledger_p50_ms}/${r.after_ledger_p99_ms} ms`,
        );
        phases.push(r);
      }
      // Saturation: up by 25% from the best rate held, or halfway back after a rate that failed.
      const search: PhaseResult[] = [];
      let lo = Math.max(0, ...phases.filter(holds).map((r) => r.rate_per_s));
      let hi = Math.min(
        Number.POSITIVE_INFINITY,
        ...phases.filter((r) => !holds(r)).map((r) => r.rate_per_s),
      );
      for (let step = 0; step < SEARCH_STEPS; step++) {
        const rate = Number.isFinite(hi) ? Math.round((lo + hi) / 2) : Math.round(Math.max(lo, 100) * 1.25);
        if (Number.isFinite(hi) && hi / Math.max(lo, 1) < 1.1) break;
        const r = await phase(ctx, rate, STEP_S);
        console.log(
          `  search ${rate}/s: p99 ${r.p99_ms} ms, lost ${r.lost} → ${holds(r) ? 'holds' : 'falls behind'}`,
        );
        search.push(r);
        if (holds(r)) lo = Math.max(lo, rate);
        else hi = Math.min(hi, rate);
      }
      const rssOf = async (name: string) => {
        const pid = stack.process(name).pid;
        return pid === undefined ? -1 : peakRssMb(pid);
      };
      const rss = { gateway: await rssOf('gateway'), ledger: await rssOf('ledger') };
      const baseline = await kafkaHopBaseline(prefix, 500, 5);
      const headline = phases.find((r) => r.rate_per_s === 500) ?? phases.at(-1)!;
      const baselineP99 = round(percentile(baseline, 99));
      // Passes only when a targeted rate (500/s, 1,000/s) ran, and every one that ran met its target.
      const targeted = phases.filter((r) => TARGETS[r.rate_per_s] !== undefined);
      const pass =
        targeted.length > 0 && targeted.every((r) => r.lost === 0 && r.p99_ms < TARGETS[r.rate_per_s]!);
      const all = [...phases, ...search].sort((a, b) => a.rate_per_s - b.rate_per_s);
      await writeChart(
        'e2e-latency',
        latencyChart({
          title: 'End to end: notification sent → points credited',
          rows: all,
          saturation: lo,
          targets: Object.entries(TARGETS).map(([rate, ms]) => ({ rate: Number(rate), ms })),
        }),
      );
      const extra: Record<string, number | string | boolean> = {
        p50_ms: headline.p50_ms,
        p95_ms: headline.p95_ms,
        p99_ms: headline.p99_ms,
        rate_per_s: headline.rate_per_s,
        seconds: headline.seconds,
        lost: headline.lost,
        late: headline.late,
        saturation_per_s: lo,
        late_after_ms: LATE_MS,
        drain_s: DRAIN_S,
        sweep_every_ms: SWEEP_EVERY_MS,
        sweep_orders: SWEEP_ORDERS,
        gateway_p99_ms: headline.gateway_p99_ms,
        to_ledger_p99_ms: headline.to_ledger_p99_ms,
        after_ledger_p99_ms: headline.after_ledger_p99_ms,
        gateway_cpu_us_per_notification: headline.gateway_cpu_us,
        ledger_cpu_us_per_notification: headline.ledger_cpu_us,
        kafka_hop_p50_ms: round(percentile(baseline, 50)),
        kafka_hop_p99_ms: baselineP99,
        gateway_peak_rss_mb: rss.gateway,
        ledger_peak_rss_mb: rss.ledger,
        phases: JSON.stringify(all),
      };
      return {
        value: headline.p99_ms,
        unit: 'ms p99',
        baseline: { name: 'one Kafka hop, acks=all, p99', value: baselineP99 },
        target: { max_p99_ms: TARGETS[500] },
        pass,
        extra,
      };
    } finally {
      await settled.stop().catch(() => {});
      await pool.end().catch(() => {});
      await stack.stop();
      await sandbox.close();
      await log.close();
      await createdTopics.remove().catch(() => {});
      await db.drop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  },
};
