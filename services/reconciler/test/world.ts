import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMessage, type MessageOf, TOPICS, type TopicNames, topicNames } from '@paysync/contracts';
import { createComponentAccount, createPool, migrateUp, type Pool, type RowDataPacket } from '@paysync/db';
import { createConsumer, createIdempotentProducer, createKafka } from '@paysync/kafka';
import { createLogger, type RunningService, startService } from '@paysync/observability';
import { type LedgerConfig, ledgerService } from '@paysync/points-ledger';
import {
  AdaptiveRateLimiter,
  arrayFeed,
  createKafkaPublisher,
  DEFAULT_SYNC_POLICY,
  type Publisher,
  runWorkers,
  type SyncPolicy,
  WHOLE,
} from '@paysync/reconcile';
import {
  createIsolatedDatabase,
  createIsolatedTopics,
  eventually,
  type IsolatedDatabase,
  sandboxClient,
  testEnv,
  uniqueName,
  type WeChatPaidOrder,
} from '@paysync/testkit';
import type { BreakerOptions, WeChatPayClient } from '@paysync/wechatpay';
import { type Sandbox, type SandboxOptions, startSandbox } from '@paysync/wechatpay-sandbox';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { runSweepJob, type SweepJobConfig, type SweepJobDeps, type SweepJobResult } from '../src/index.ts';

/** Short back-offs so a test's sweeps follow each other within seconds. */
export const TEST_POLICY: SyncPolicy = {
  ...DEFAULT_SYNC_POLICY,
  backoff: { stepsMs: [300, 300, 300], thenEveryMs: 300, userPayingMs: 200, errorRetryMs: 200 },
  missedNotificationAfterMs: 0,
  userPayingGraceMs: 0,
};

export type TestOrder = { outTradeNo: string; userId: string; amountTotal: number; timeExpire: Date };

export type WorldOptions = {
  /**
   * The sandbox's settings. With a WeChat Pay public key (`keyMode: 'both'`), the ledger is
   * configured with it from the start, as an operator does before WeChat switches to it.
   */
  sandbox?: SandboxOptions;
  /** Start the points-ledger in-process, through its service definition (default true). */
  ledger?: boolean;
  breaker?: BreakerOptions;
};

let seq = 0;
export function newOutTradeNo(tag = 'R'): string {
  seq += 1;
  return `RC${tag}${Date.now().toString(36)}${process.pid.toString(36)}${String(seq).padStart(5, '0')}`.slice(
    0,
    32,
  );
}

/**
 * A reconciler test world: its own database and topics, the WeChat Pay sandbox, a real client,
 * a Kafka publisher, the points-ledger consuming in-process, and a collector of alerts.
 */
export async function createReconcilerWorld(name: string, opts: WorldOptions = {}) {
  const db: IsolatedDatabase = await createIsolatedDatabase(name);
  const pool: Pool = createPool({ url: db.url, connectionLimit: 10 });
  await migrateUp(pool);
  // Each component runs under its own least-privileged account (the grants of @paysync/db);
  // `pool` is the test's administrator.
  const accounts = {
    reconciler: await createComponentAccount(db.url, 'reconciler'),
    ledger: await createComponentAccount(db.url, 'ledger'),
    payctl: await createComponentAccount(db.url, 'payctl'),
  };
  const reconcilerPool: Pool = createPool({ url: accounts.reconciler.url, connectionLimit: 10 });
  const prefix = uniqueName(name);
  const topics: TopicNames = topicNames(prefix);
  const createdTopics = await createIsolatedTopics(Object.values(topics), 3);
  const kafka: Kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: prefix });
  const producer: Producer = createIdempotentProducer(kafka);
  await producer.connect();
  const publisher: Publisher = createKafkaPublisher({ producer, topics });
  const sandbox: Sandbox = await startSandbox(opts.sandbox ?? {});
  const m = sandbox.merchant!;
  const clients: WeChatPayClient[] = [];
  /** A WeChat Pay client of its own (its own breaker), closed with the world. */
  const makeClient = async (breaker?: BreakerOptions) => {
    // As in production: every certificate download is archived for the ledger's checks.
    const c = await sandboxClient(sandbox, { archive: reconcilerPool, ...(breaker ? { breaker } : {}) });
    clients.push(c);
    return c;
  };
  const client = await makeClient(opts.breaker);
  const logger = createLogger({ service: 'reconciler-test', level: 'silent' });

  const alerts: MessageOf<typeof TOPICS.alerts>[] = [];
  const settled: MessageOf<typeof TOPICS.orderSettled>[] = [];
  const collector: Consumer = createConsumer(kafka, { groupId: `${prefix}-collector` });
  await collector.connect();
  await collector.subscribe({ topics: [topics.alerts, topics.orderSettled], fromBeginning: true });
  await collector.run({
    eachMessage: async ({ topic, message }) => {
      if (topic === topics.alerts) alerts.push(decodeMessage(TOPICS.alerts, message.value));
      else settled.push(decodeMessage(TOPICS.orderSettled, message.value));
    },
  });
  let secretsDir: string | undefined;
  /** The merchant's key files, written once (mode 0600, as a Secret volume mounts them). */
  const keyFiles = async () => {
    if (!secretsDir) {
      secretsDir = await mkdtemp(join(tmpdir(), 'paysync-world-'));
      await writeFile(join(secretsDir, 'apiclient_key.pem'), m.privateKeyPem, { mode: 0o600 });
      await writeFile(join(secretsDir, 'apiv3.key'), m.apiV3Key, { mode: 0o600 });
      const publicKey = sandbox.keys().publicKey;
      if (publicKey) await writeFile(join(secretsDir, 'wechatpay-public.pem'), publicKey.publicKeyPem);
    }
    return {
      privateKey: join(secretsDir, 'apiclient_key.pem'),
      apiV3Key: join(secretsDir, 'apiv3.key'),
      publicKey: join(secretsDir, 'wechatpay-public.pem'),
    };
  };

  const groupId = `${prefix}-ledger`;
  let ledger: RunningService<LedgerConfig> | undefined;
  if (opts.ledger ?? true) {
    // The ledger as production builds it (its compose.ts through the service kernel), under its
    // own account: it verifies evidence with the certificates the world's client archives and the
    // public key of its configuration.
    const files = await keyFiles();
    const publicKey = sandbox.keys().publicKey;
    ledger = await startService(ledgerService, {
      env: {
        MYSQL_URL: accounts.ledger.url,
        KAFKA_BROKERS: testEnv().kafkaBrokers.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        LEDGER_GROUP_ID: groupId,
        LEDGER_BATCH_SIZE: '100',
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: '0',
        LOG_LEVEL: 'silent',
        WECHATPAY_API_V3_KEY_FILE: files.apiV3Key,
        ...(publicKey
          ? { WECHATPAY_PUBLIC_KEY_ID: publicKey.id, WECHATPAY_PUBLIC_KEY_FILE: files.publicKey }
          : {}),
      },
    });
  }

  const world = {
    db,
    pool,
    /** The reconciler's own pool (its least-privileged account). */
    reconcilerPool,
    prefix,
    topics,
    kafka,
    producer,
    publisher,
    sandbox,
    client,
    makeClient,
    logger,
    alerts,
    settled,

    /**
     * The environment a reconciler or payctl process needs to work in this world (key files
     * written once), with that component's own database account.
     */
    async processEnv(component: 'reconciler' | 'payctl' = 'reconciler'): Promise<Record<string, string>> {
      const files = await keyFiles();
      return {
        PATH: process.env.PATH ?? '',
        MYSQL_URL: accounts[component].url,
        KAFKA_BROKERS: testEnv().kafkaBrokers.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        WECHATPAY_MCHID: m.mchid,
        WECHATPAY_MERCHANT_SERIAL_NO: m.certificateSerial,
        WECHATPAY_PRIVATE_KEY_FILE: files.privateKey,
        WECHATPAY_API_V3_KEY_FILE: files.apiV3Key,
        WECHATPAY_BASE_URLS: sandbox.url,
        WECHATPAY_ALLOW_INSECURE_HTTP: 'true',
      };
    },

    /** Creates orders at the sandbox (prepay, as the gateway does) and their pending rows, due now. */
    async createOrders(
      n: number,
      o: {
        payableForMs?: number;
        amountTotal?: number;
        dbAmountTotal?: number;
        dbTimeExpire?: Date;
        tag?: string;
      } = {},
    ): Promise<TestOrder[]> {
      // WeChat's time_expire has second precision: store exactly what WeChat was told.
      const timeExpire = new Date(Math.floor((Date.now() + (o.payableForMs ?? 3_600_000)) / 1000) * 1000);
      const orders: TestOrder[] = Array.from({ length: n }, () => ({
        outTradeNo: newOutTradeNo(o.tag),
        userId: `user-${randomUUID().slice(0, 8)}`,
        amountTotal: o.amountTotal ?? 1000,
        timeExpire,
      }));
      await runWorkers({
        feed: arrayFeed(orders),
        concurrency: 16,
        work: async (order) => {
          await client.prepayNative({
            appid: m.appid,
            description: 'points recharge',
            outTradeNo: order.outTradeNo,
            notifyUrl: 'http://127.0.0.1:1/api/payment/wechat/callback',
            amountTotal: order.amountTotal,
            timeExpire: timeExpire.toISOString().replace(/\.\d{3}Z$/, '+00:00'),
          });
        },
      });
      const now = new Date();
      await pool.query(
        `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total,
           points, bonus_points, status, time_expire, next_check_at, created_at) VALUES ?`,
        [
          orders.map((x) => [
            x.outTradeNo,
            x.userId,
            m.mchid,
            m.appid,
            'NATIVE',
            'points recharge',
            o.dbAmountTotal ?? x.amountTotal,
            1000,
            100,
            'pending',
            o.dbTimeExpire ?? timeExpire,
            now,
            now,
          ]),
        ],
      );
      return orders;
    },

    /** The user pays at the sandbox; what WeChat now reports as paid. */
    pay(order: TestOrder): WeChatPaidOrder {
      const tx = sandbox.pay(order.outTradeNo);
      return {
        outTradeNo: order.outTradeNo,
        transactionId: tx.transaction_id!,
        amountTotal: order.amountTotal,
        mchid: m.mchid,
        appid: m.appid,
      };
    },

    /** One sweep run as the CronJob's process does it, with test-sized settings. */
    async sweep(
      config: Partial<SweepJobConfig> = {},
      deps: Partial<Omit<SweepJobDeps, 'pool' | 'publisher'>> = {},
    ): Promise<SweepJobResult & { pacer: AdaptiveRateLimiter }> {
      const pacer = deps.pacer ?? new AdaptiveRateLimiter({ qps: 2000 });
      const result = await runSweepJob(
        { pool: reconcilerPool, publisher, wechat: deps.wechat ?? client, pacer, logger, ...deps },
        {
          shard: WHOLE,
          pageSize: 50,
          concurrency: 8,
          budgetMs: 60_000,
          claimLeaseMs: 120_000,
          policy: TEST_POLICY,
          ...config,
        },
      );
      return { ...result, pacer };
    },

    /** Waits until the ledger has applied every observation published so far. */
    async waitUntilConsumed(timeoutMs = 60_000): Promise<void> {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await eventually(
          'the ledger to consume every observation',
          async () => {
            const [ends, committed] = await Promise.all([
              admin.fetchTopicOffsets(topics.paymentObservations),
              admin.fetchOffsets({ groupId, topics: [topics.paymentObservations] }),
            ]);
            const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
            return ends.every((e) => e.high === '0' || done.get(e.partition) === e.high) ? true : undefined;
          },
          { timeoutMs, intervalMs: 200 },
        );
      } finally {
        await admin.disconnect();
      }
    },

    async statuses(): Promise<Record<string, number>> {
      const [rows] = await pool.query<(RowDataPacket & { status: string; n: number })[]>(
        'SELECT status, COUNT(*) AS n FROM payment_orders GROUP BY status',
      );
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    },

    async order(outTradeNo: string): Promise<RowDataPacket | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT * FROM payment_orders WHERE out_trade_no = ?',
        [outTradeNo],
      );
      return rows[0];
    },

    /** Removes every order and what hangs off it (after the ledger is quiet). */
    async reset(): Promise<void> {
      for (const table of [
        'payment_refunds',
        'point_transactions',
        'point_accounts',
        'order_observations',
        'payment_orders',
      ]) {
        await pool.query(`DELETE FROM ${table}`);
      }
      alerts.length = 0;
      settled.length = 0;
      sandbox.resetFaults();
      sandbox.resetCounters();
    },

    async close(): Promise<void> {
      await ledger?.stop('test finished');
      await collector.disconnect().catch(() => {});
      await producer.disconnect().catch(() => {});
      for (const c of clients) await c.close();
      await sandbox.close();
      await reconcilerPool.end();
      for (const a of Object.values(accounts)) await a.drop();
      await pool.end();
      await createdTopics.remove().catch(() => {});
      await db.drop();
      if (secretsDir) await rm(secretsDir, { recursive: true, force: true });
    },
  };
  return world;
}

export type ReconcilerWorld = Awaited<ReturnType<typeof createReconcilerWorld>>;

/** A port nothing listens on (for an unreachable notify URL). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
