// e2e-latency: from the moment the callback-gateway accepts WeChat Pay's payment notification (its
// 204, which it sends only once the observation is durable in Kafka) to the moment the points are
// credited (the points-ledger committed and published the order-settled event, seen here by a
// consumer), at a steady rate of payments. The gateway and the ledger run as processes (the
// supervisor of `npm start`), with the WeChat Pay sandbox, real Kafka and MariaDB. A pass-through
// proxy in front of the gateway records when each notification was accepted.
//
// Baseline, same run and machine: one Kafka hop (produce with acks=all → consumed) at the same rate,
// the floor of the two hops and one MySQL transaction the end-to-end path takes.
//
// Run: eval "$(node scripts/infra.ts env)" && node bench/run.ts e2e-latency
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeMessage, TOPICS, topicNames } from '@paysync/contracts';
import { createConsumer, createIdempotentProducer, createKafka } from '@paysync/kafka';
import { createIsolatedDatabase, createIsolatedTopics, testEnv, uniqueName } from '@paysync/testkit';
import { startSandbox } from '@paysync/wechatpay-sandbox';
import type { Consumer } from 'kafkajs';
import { GatewayClient, rechargeOrder } from '../../scripts/start/clients.ts';
import { CALLBACK_PATH } from '../../scripts/start/config.ts';
import { CombinedLog } from '../../scripts/start/log.ts';
import { freePorts } from '../../scripts/start/ports.ts';
import { startStack } from '../../scripts/start/stack.ts';
import { peakRssMb, percentile, type Scenario } from '../result.ts';

const RATE_PER_S = 50;
const WARMUP = 150;
const MEASURED = 1500; // 30 s at 50/s
const TARGET_P99_MS = 500;
const CREATE_CONCURRENCY = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number) => Math.round(n * 100) / 100;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Forwards the sandbox's notifications to the gateway; records when each was accepted (2xx). */
async function acceptProxy(target: () => string) {
  const accepted = new Map<string, number>();
  const gatewayMs: number[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (
          typeof v === 'string' &&
          !['host', 'connection', 'content-length', 'transfer-encoding'].includes(k)
        )
          headers[k] = v;
      }
      const sent = performance.now();
      try {
        const answer = await fetch(`${target()}${req.url ?? ''}`, { method: 'POST', headers, body });
        const text = await answer.text();
        const at = performance.now();
        if (answer.ok) {
          const id = (JSON.parse(body.toString('utf8')) as { id?: string }).id;
          if (id && !accepted.has(id)) accepted.set(id, at);
          gatewayMs.push(at - sent);
        }
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
        res.end(text);
      } catch {
        res.writeHead(502).end();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    accepted,
    gatewayMs,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A consumer that records when each message arrives; resolves once it has joined its group. */
async function arrivals(topic: string, keyOf: (value: Buffer) => string | undefined) {
  const kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: uniqueName('bench-e2e') });
  const consumer: Consumer = createConsumer(kafka, { groupId: uniqueName('bench-e2e'), maxWaitTimeInMs: 50 });
  const seen = new Map<string, number>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const at = performance.now();
      const key = message.value ? keyOf(message.value) : undefined;
      if (key && !seen.has(key)) seen.set(key, at);
    },
  });
  await joined;
  return { seen, stop: () => consumer.disconnect() };
}

/** Calls `fn(i)` for i in [0, n) at `rate` per second, on schedule (open loop). */
async function steady(n: number, rate: number, fn: (i: number) => void): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    fn(i);
  }
}

async function kafkaHopBaseline(prefix: string): Promise<number[]> {
  const topic = `${prefix}.bench-baseline`;
  const created = await createIsolatedTopics([topic], 6);
  const sentAt = new Map<string, number>();
  const consumer = await arrivals(topic, (v) => v.toString('utf8'));
  const producer = createIdempotentProducer(
    createKafka({ brokers: testEnv().kafkaBrokers, clientId: uniqueName('bench-base') }),
  );
  await producer.connect();
  try {
    const sends: Promise<unknown>[] = [];
    await steady(WARMUP + MEASURED, RATE_PER_S, (i) => {
      const id = `${i}:${randomUUID()}`;
      sentAt.set(id, performance.now());
      sends.push(producer.send({ topic, acks: -1, messages: [{ key: id, value: id }] }));
    });
    await Promise.all(sends);
    const deadline = Date.now() + 30_000;
    while (consumer.seen.size < sentAt.size && Date.now() < deadline) await sleep(100);
    return [...sentAt]
      .filter(([id]) => Number(id.split(':')[0]) >= WARMUP && consumer.seen.has(id))
      .map(([id, t]) => (consumer.seen.get(id) as number) - t);
  } finally {
    await producer.disconnect();
    await consumer.stop();
    await created.remove().catch(() => {});
  }
}

export const scenario: Scenario = {
  name: 'e2e-latency',
  description: `WeChat Pay notification accepted by the gateway → points credited (order-settled), p50/p95/p99 at ${RATE_PER_S} payments/s`,
  async run() {
    const db = await createIsolatedDatabase('bench_e2e');
    const prefix = uniqueName('benche2e');
    const topics = topicNames(prefix);
    const createdTopics = await createIsolatedTopics(Object.values(topics), 6);
    const sandbox = await startSandbox({ timeScale: 1 });
    const dir = await mkdtemp(join(tmpdir(), 'paysync-bench-e2e-'));
    const log = new CombinedLog({ console: 'off', dir: join(dir, 'logs') });
    const ports = await freePorts();
    const proxy = await acceptProxy(() => `http://127.0.0.1:${ports.gateway}`);
    const stack = await startStack({
      dir,
      ports,
      mysqlUrl: db.url,
      kafkaBrokers: testEnv().kafkaBrokers,
      topicPrefix: prefix,
      components: ['gateway', 'ledger'],
      sandbox: { url: sandbox.url, merchant: sandbox.merchant! },
      notifyUrl: `${proxy.url}${CALLBACK_PATH}`,
      log,
      env: { gateway: { LOG_LEVEL: 'warn' }, ledger: { LOG_LEVEL: 'warn' } },
    });
    const settled = await arrivals(topics.orderSettled, (v) => {
      const m = decodeMessage(TOPICS.orderSettled, v);
      return m.status === 'paid' ? m.outTradeNo : undefined;
    });
    try {
      await stack.waitReady({ timeoutMs: 120_000 });
      const gateway = new GatewayClient(stack.urls.gateway as string, stack.secrets.apiToken);
      const total = WARMUP + MEASURED;
      const orders: string[] = new Array(total);
      let next = 0;
      const createStarted = Date.now();
      await Promise.all(
        Array.from({ length: CREATE_CONCURRENCY }, async () => {
          for (let i = next++; i < total; i = next++) {
            orders[i] = (
              await gateway.createOrder(rechargeOrder(`bench-user-${i % 97}`, 1000), 30_000)
            ).out_trade_no;
          }
        }),
      );
      const createSeconds = (Date.now() - createStarted) / 1000;

      await steady(total, RATE_PER_S, (i) => sandbox.pay(orders[i] as string));
      const deadline = Date.now() + 60_000;
      while (settled.seen.size < total && Date.now() < deadline) await sleep(200);
      await sandbox.idle();

      const idOf = new Map(sandbox.notifications().map((n) => [n.outTradeNo, n.id]));
      const latencies: number[] = [];
      let lost = 0;
      for (const no of orders.slice(WARMUP)) {
        const acceptedAt = proxy.accepted.get(idOf.get(no) ?? '');
        const creditedAt = settled.seen.get(no);
        if (acceptedAt === undefined || creditedAt === undefined) lost += 1;
        else latencies.push(creditedAt - acceptedAt);
      }
      const rssOf = async (name: string) => {
        const pid = stack.process(name).pid;
        return pid === undefined ? -1 : peakRssMb(pid);
      };
      const rss = { gateway: await rssOf('gateway'), ledger: await rssOf('ledger') };
      const baseline = await kafkaHopBaseline(prefix);
      const p = (q: number) => round(percentile(latencies, q));
      const p99 = p(99);
      const baselineP99 = round(percentile(baseline, 99));
      return {
        value: p99,
        unit: 'ms p99',
        baseline: { name: 'one Kafka hop, acks=all, p99', value: baselineP99 },
        target: { max_p99_ms: TARGET_P99_MS },
        pass: lost === 0 && p99 <= TARGET_P99_MS,
        extra: {
          p50_ms: p(50),
          p95_ms: p(95),
          p99_ms: p99,
          max_ms: round(Math.max(...latencies)),
          rate_per_s: RATE_PER_S,
          samples: latencies.length,
          lost,
          warmup: WARMUP,
          gateway_accept_p50_ms: round(percentile(proxy.gatewayMs, 50)),
          gateway_accept_p99_ms: round(percentile(proxy.gatewayMs, 99)),
          kafka_hop_p50_ms: round(percentile(baseline, 50)),
          kafka_hop_p99_ms: baselineP99,
          orders_created_per_s: round(total / createSeconds),
          gateway_peak_rss_mb: rss.gateway,
          ledger_peak_rss_mb: rss.ledger,
        },
      };
    } finally {
      await settled.stop().catch(() => {});
      await stack.stop();
      await proxy.close();
      await sandbox.close();
      await log.close();
      await createdTopics.remove().catch(() => {});
      await db.drop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  },
};
