import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PaymentObservation, TOPICS, topicNames } from '@paysync/contracts';
import { createPool, migrateUp, type Pool, type RowDataPacket, withTransaction } from '@paysync/db';
import { createIdempotentProducer, createKafka, publish } from '@paysync/kafka';

import { checkEvidence } from '@paysync/orders';
import { applyObservations } from '@paysync/points-ledger';
import {
  createIsolatedDatabase,
  createIsolatedTopics,
  eventually,
  TestWeChatSigner,
  testEnv,
  uniqueName,
} from '@paysync/testkit';
import { peakRssMb, type Scenario } from '../result.ts';
import { seedPendingOrders } from '../seed.ts';
import { lineChart, writeChart } from '../svg.ts';

// Settlements per second from Kafka into MariaDB (durable: innodb_flush_log_at_trx_commit=1),
// by the real ledger process, beside a baseline measured in the same run: the same SQL work
// done directly, one transaction per message, without Kafka.

const ORDERS = Number(process.env.BENCH_LEDGER_ORDERS ?? 20_000);
const BASELINE_ORDERS = Number(process.env.BENCH_LEDGER_BASELINE_ORDERS ?? 2_000);
/** The settlements/s-against-batch-size curve: LEDGER_BATCH_SIZE values, orders per point (0: no curve). */
const CURVE_BATCHES = (process.env.BENCH_LEDGER_CURVE_BATCHES ?? '1,10,50,100,500').split(',').map(Number);
const CURVE_ORDERS = Number(process.env.BENCH_LEDGER_CURVE_ORDERS ?? 5_000);
const DEFAULT_BATCH = 100;
const MCHID = '1900007291';
const APPID = 'wxd678efh567hg6787';
const LEDGER_MAIN = fileURLToPath(new URL('../../services/points-ledger/src/main.ts', import.meta.url));

/** `count` pending 10-yuan orders named `<prefix><8 digits>`, due for the sweep now. */
function seed(pool: Pool, prefix: string, count: number): Promise<string[]> {
  return seedPendingOrders(pool, {
    prefix,
    count,
    digits: 8,
    mchid: MCHID,
    appid: APPID,
    amountFen: 1000,
    points: 1000,
    bonusPoints: 100,
    expiresAt: new Date(Date.now() + 3_600_000),
    nextCheckAt: new Date(),
  });
}

function paid(no: string): PaymentObservation {
  return {
    observationId: randomUUID(),
    outTradeNo: no,
    source: 'notification',
    observedAt: new Date().toISOString(),
    producer: 'bench',
    mchid: MCHID,
    appid: APPID,
    tradeState: 'SUCCESS',
    transactionId: `42${no}`.slice(0, 32),
    amount: { total: 1000, currency: 'CNY' },
    successTime: new Date().toISOString(),
  };
}

/** CPU seconds (user + system) a process has used, from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

/** Signs observations as WeChat would (in parallel on libuv's pool), in slices to bound memory. */
async function signAll(signer: TestWeChatSigner, nos: string[]): Promise<PaymentObservation[]> {
  const out: PaymentObservation[] = [];
  for (let i = 0; i < nos.length; i += 500) {
    out.push(...(await Promise.all(nos.slice(i, i + 500).map((no) => signer.sign(paid(no))))));
  }
  return out;
}

async function journalSpan(pool: Pool): Promise<{ n: number; seconds: number }> {
  const [[row]] = await pool.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n, TIMESTAMPDIFF(MICROSECOND, MIN(recorded_at), MAX(recorded_at)) AS us FROM order_observations',
  );
  return { n: Number(row?.n), seconds: Number(row?.us) / 1e6 };
}

type LedgerRun = { rate: number; seconds: number; n: number; rssMb: number; cpuSeconds: number };

/**
 * `orders` signed SUCCESS observations for orders seeded with `tag`, waiting in Kafka topics of
 * their own, consumed and settled by a ledger process started with LEDGER_BATCH_SIZE=`batchSize`.
 * The rate is the journal's: rows over the span of their recorded_at (the journal starts empty).
 */
async function measureLedger(opts: {
  pool: Pool;
  dbUrl: string;
  keyDir: string;
  signer: TestWeChatSigner;
  tag: string;
  orders: number;
  batchSize: number;
}): Promise<LedgerRun> {
  const { pool, signer } = opts;
  const prefix = uniqueName('bench_ledger');
  const topics = topicNames(prefix);
  const created = await createIsolatedTopics(Object.values(topics), 6);
  const producer = createIdempotentProducer(
    createKafka({ brokers: testEnv().kafkaBrokers, clientId: prefix }),
  );
  try {
    await pool.query('DELETE FROM order_observations');
    const nos = await seed(pool, opts.tag, opts.orders);
    const observations = await signAll(signer, nos);
    await producer.connect();
    for (let i = 0; i < observations.length; i += 1000) {
      await publish(producer, TOPICS.paymentObservations, observations.slice(i, i + 1000), {
        destination: topics.paymentObservations,
      });
    }
    console.log(`  ${opts.orders} observations in Kafka; starting the ledger (batch ${opts.batchSize})`);
    const ledger = spawn(process.execPath, [LEDGER_MAIN], {
      env: {
        ...process.env,
        MYSQL_URL: opts.dbUrl,
        KAFKA_TOPIC_PREFIX: prefix,
        LEDGER_GROUP_ID: `${prefix}-ledger`,
        LEDGER_BATCH_SIZE: String(opts.batchSize),
        METRICS_PORT: '0',
        METRICS_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        WECHATPAY_API_V3_KEY_FILE: join(opts.keyDir, 'apiv3.key'),
        WECHATPAY_PUBLIC_KEY_ID: signer.publicKeyId,
        WECHATPAY_PUBLIC_KEY_FILE: join(opts.keyDir, 'pub.pem'),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    let rssMb = Number.NaN;
    let cpu = Number.NaN;
    try {
      await eventually(
        'the ledger to settle every order',
        async () => {
          const [[row]] = await pool.query<RowDataPacket[]>(
            "SELECT COUNT(*) AS n FROM payment_orders WHERE status = 'paid' AND out_trade_no LIKE ?",
            [`${opts.tag}%`],
          );
          return Number(row?.n) >= opts.orders ? true : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 250 },
      );
      rssMb = await peakRssMb(ledger.pid as number);
      cpu = await cpuSeconds(ledger.pid as number);
    } finally {
      ledger.kill('SIGTERM');
      await new Promise((r) => ledger.once('exit', r));
    }
    const span = await journalSpan(pool);
    return { rate: span.n / span.seconds, seconds: span.seconds, n: span.n, rssMb, cpuSeconds: cpu };
  } finally {
    await producer.disconnect().catch(() => {});
    await created.remove().catch(() => {});
  }
}

export const scenario: Scenario = {
  name: 'ledger-throughput',
  description: `${ORDERS} signed SUCCESS observations verified and settled by the ledger process vs the same checks and SQL, one transaction each; settlements/s against LEDGER_BATCH_SIZE`,
  async run() {
    const db = await createIsolatedDatabase('bench_ledger');
    const pool = createPool({ url: db.url, connectionLimit: 4 });
    // WeChat's signature on every observation, checked by the ledger (and by the baseline).
    const signer = new TestWeChatSigner();
    const reader = signer.reader();
    const keyDir = await mkdtemp(join(tmpdir(), 'paysync-bench-keys-'));
    try {
      await migrateUp(pool);
      await writeFile(join(keyDir, 'apiv3.key'), signer.apiV3Key, { mode: 0o600 });
      await writeFile(join(keyDir, 'pub.pem'), signer.publicKey.export({ type: 'spki', format: 'pem' }));

      // Baseline: the ledger's own evidence check and SQL, one transaction per observation, no Kafka.
      const baseNos = await seed(pool, 'BASE', BASELINE_ORDERS);
      const baseObs = await signAll(signer, baseNos);
      const baseStart = performance.now();
      for (const obs of baseObs) {
        const verdict = { ok: true as const, reading: await checkEvidence(reader, obs) };
        await withTransaction(pool, (conn) => applyObservations(conn, [{ obs, verdict }], new Date()));
      }
      const baselineRate = BASELINE_ORDERS / ((performance.now() - baseStart) / 1000);
      console.log(`  baseline: ${baselineRate.toFixed(0)} orders/s (direct SQL, one transaction each)`);

      // The measurement: observations waiting in Kafka, consumed and settled by the ledger process.
      const common = { pool, dbUrl: db.url, keyDir, signer };
      const main = await measureLedger({ ...common, tag: 'BNCH', orders: ORDERS, batchSize: DEFAULT_BATCH });
      const curve: { batch: number; rate: number }[] = [];
      for (const batch of CURVE_ORDERS > 0 ? CURVE_BATCHES : []) {
        const tag = `BS${String(batch).padStart(4, '0')}`;
        const r = await measureLedger({ ...common, tag, orders: CURVE_ORDERS, batchSize: batch });
        console.log(`  batch ${batch}: ${r.rate.toFixed(0)} settlements/s`);
        curve.push({ batch, rate: Math.round(r.rate) });
      }
      if (curve.length > 0) {
        await writeChart(
          'ledger-throughput',
          lineChart({
            title: 'points-ledger: settlements per second against batch size',
            logX: true,
            xLabel: `LEDGER_BATCH_SIZE (observations per MySQL transaction; ${CURVE_ORDERS} orders a point)`,
            yLabel: 'settlements/s',
            series: [
              {
                name: 'ledger process',
                points: curve.map((c) => [c.batch, c.rate] as const),
              },
            ],
            hRules: [
              { value: 2000, label: 'target 2,000/s' },
              { value: Math.round(baselineRate), label: 'one transaction each, no Kafka' },
            ],
          }),
        );
      }
      const ratio = main.rate / baselineRate;
      return {
        value: Math.round(main.rate),
        unit: 'orders/s',
        baseline: { name: 'direct SQL, one transaction per message', value: Math.round(baselineRate) },
        ratio: Math.round(ratio * 100) / 100,
        target: { ratio: 5, value: 2000 },
        pass: ratio >= 5 && main.rate >= 2000,
        extra: {
          orders: ORDERS,
          batch_size: DEFAULT_BATCH,
          seconds: Math.round(main.seconds * 100) / 100,
          peak_rss_mb: main.rssMb,
          // The whole process's CPU from start to the last settlement, start-up included.
          cpu_us_per_settlement: Math.round((main.cpuSeconds / ORDERS) * 1e6),
          evidence_verified: true,
          durable: true,
          batch_curve: JSON.stringify(curve),
        },
      };
    } finally {
      await rm(keyDir, { recursive: true, force: true });
      await pool.end();
      await db.drop();
    }
  },
};
