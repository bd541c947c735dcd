import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeMessage,
  type MessageOf,
  type PaymentObservation,
  TOPICS,
  type TopicNames,
  topicNames,
} from '@paysync/contracts';
import { createComponentAccount, createPool, migrateUp, type Pool } from '@paysync/db';
import { createConsumer, createIdempotentProducer, createKafka, publish } from '@paysync/kafka';
import { type RunningService, startService } from '@paysync/observability';
import {
  createIsolatedDatabase,
  createIsolatedTopics,
  eventually,
  type IsolatedDatabase,
  TestWeChatSigner,
  testEnv,
  uniqueName,
} from '@paysync/testkit';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { type LedgerConfig, type LedgerService, ledgerService } from '../src/index.ts';

export const MCHID = '1900007291';
export const APPID = 'wxd678efh567hg6787';

export type Outputs = {
  settled: MessageOf<typeof TOPICS.orderSettled>[];
  alerts: MessageOf<typeof TOPICS.alerts>[];
  deadLetters: MessageOf<typeof TOPICS.paymentObservationsDlq>[];
};

/**
 * A ledger test world: its own database (migrated), its own topics, a producer of observations,
 * a collector of everything the ledger publishes, and ledgers started in-process through the kernel.
 */
export type LedgerWorld = {
  db: IsolatedDatabase;
  pool: Pool;
  kafka: Kafka;
  topics: TopicNames;
  prefix: string;
  groupId: string;
  outputs: Outputs;
  /**
   * The ledger as production builds it (src/compose.ts through the service kernel, configured by
   * its environment, under its own database account), in this process; stopped by `close`. `env`
   * adds to or overrides the world's variables (LEDGER_BATCH_SIZE is 50). Its consumer is
   * `service.parts.ledger`.
   */
  startLedger(env?: Record<string, string>): Promise<RunningService<LedgerConfig, LedgerService>>;
  seedOrder(o?: Partial<SeedOrder>): Promise<SeedOrder>;
  /** WeChat's signature for the world's observations. */
  signer: TestWeChatSigner;
  /** Publishes observations as WeChat signed them (each rebuilt from its evidence, see TestWeChatSigner). */
  observe(...obs: PaymentObservation[]): Promise<void>;
  /** Publishes observations exactly as given: forged, unsigned, tampered. */
  observeAsIs(...obs: PaymentObservation[]): Promise<void>;
  /** The key-file variables a ledger process needs to check this world's evidence (files written once). */
  evidenceEnv(): Promise<Record<string, string>>;
  publishRaw(key: string, value: string): Promise<void>;
  waitUntilConsumed(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
};

export type SeedOrder = {
  outTradeNo: string;
  userId: string;
  amountTotal: number;
  points: number;
  bonusPoints: number;
  status: string;
  timeExpire: Date;
};

let seq = 0;
export function newOutTradeNo(tag = 'L'): string {
  seq += 1;
  return `RC${tag}${Date.now().toString(36)}${String(seq).padStart(6, '0')}`.slice(0, 32);
}

export function observation(
  order: SeedOrder,
  overrides: Partial<PaymentObservation> = {},
): PaymentObservation {
  return {
    observationId: randomUUID(),
    outTradeNo: order.outTradeNo,
    source: 'notification',
    observedAt: new Date().toISOString(),
    producer: 'test',
    mchid: MCHID,
    appid: APPID,
    tradeState: 'SUCCESS',
    transactionId: `4200${order.outTradeNo.replace(/[^0-9A-Za-z]/g, '').slice(-24)}`.slice(0, 32),
    amount: { total: order.amountTotal, currency: 'CNY' },
    successTime: new Date().toISOString(),
    ...overrides,
  };
}

/** WeChat's "no such order", as a query reports it (no app, transaction, amount or time). */
export function notFoundObservation(order: SeedOrder): PaymentObservation {
  return observation(order, {
    source: 'query',
    tradeState: 'ORDER_NOT_EXIST',
    appid: undefined,
    transactionId: undefined,
    amount: undefined,
    successTime: undefined,
  });
}

export function refundObservation(
  order: SeedOrder,
  outRefundNo: string,
  refundFen: number,
): PaymentObservation {
  return observation(order, {
    tradeState: 'REFUND',
    refund: {
      outRefundNo,
      refundId: `5000${outRefundNo}`.slice(0, 32),
      refundStatus: 'SUCCESS',
      amount: { refund: refundFen, total: order.amountTotal, currency: 'CNY' },
    },
  });
}

export async function createLedgerWorld(name: string, partitions = 3): Promise<LedgerWorld> {
  const db = await createIsolatedDatabase(name);
  const pool = createPool({ url: db.url, connectionLimit: 8 });
  await migrateUp(pool);
  // The ledger runs under its own least-privileged account; `pool` is the test's administrator.
  const ledgerAccount = await createComponentAccount(db.url, 'ledger');
  const prefix = uniqueName(name);
  const topics = topicNames(prefix);
  const created = await createIsolatedTopics(Object.values(topics), partitions);
  const kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: prefix });
  const producer: Producer = createIdempotentProducer(kafka);
  await producer.connect();
  const groupId = `${prefix}-ledger`;
  const outputs: Outputs = { settled: [], alerts: [], deadLetters: [] };
  const collector: Consumer = createConsumer(kafka, { groupId: `${prefix}-collector` });
  await collector.connect();
  await collector.subscribe({
    topics: [topics.orderSettled, topics.alerts, topics.paymentObservationsDlq],
    fromBeginning: true,
  });
  await collector.run({
    eachMessage: async ({ topic, message }) => {
      if (topic === topics.orderSettled)
        outputs.settled.push(decodeMessage(TOPICS.orderSettled, message.value));
      if (topic === topics.alerts) outputs.alerts.push(decodeMessage(TOPICS.alerts, message.value));
      if (topic === topics.paymentObservationsDlq) {
        outputs.deadLetters.push(decodeMessage(TOPICS.paymentObservationsDlq, message.value));
      }
    },
  });
  const services: RunningService<LedgerConfig, LedgerService>[] = [];
  const signer = new TestWeChatSigner();
  let keyDir: string | undefined;
  const evidenceEnv = async () => {
    keyDir ??= await mkdtemp(join(tmpdir(), 'paysync-ledger-keys-'));
    await writeFile(join(keyDir, 'apiv3.key'), signer.apiV3Key, { mode: 0o600 });
    await writeFile(
      join(keyDir, 'wechatpay-public.pem'),
      signer.publicKey.export({ type: 'spki', format: 'pem' }),
    );
    return {
      WECHATPAY_API_V3_KEY_FILE: join(keyDir, 'apiv3.key'),
      WECHATPAY_PUBLIC_KEY_ID: signer.publicKeyId,
      WECHATPAY_PUBLIC_KEY_FILE: join(keyDir, 'wechatpay-public.pem'),
    };
  };
  const publishAll = async (obs: PaymentObservation[]) => {
    for (let i = 0; i < obs.length; i += 500) {
      await publish(producer, TOPICS.paymentObservations, obs.slice(i, i + 500), {
        destination: topics.paymentObservations,
      });
    }
  };

  return {
    db,
    pool,
    kafka,
    topics,
    prefix,
    groupId,
    outputs,
    async startLedger(env = {}) {
      const running = await startService(ledgerService, {
        env: {
          MYSQL_URL: ledgerAccount.url,
          KAFKA_BROKERS: testEnv().kafkaBrokers.join(','),
          KAFKA_TOPIC_PREFIX: prefix,
          LEDGER_GROUP_ID: groupId,
          LEDGER_BATCH_SIZE: '50',
          METRICS_HOST: '127.0.0.1',
          METRICS_PORT: '0',
          LOG_LEVEL: 'silent',
          ...(await evidenceEnv()),
          ...env,
        },
      });
      services.push(running);
      return running;
    },
    async seedOrder(o = {}) {
      const order: SeedOrder = {
        outTradeNo: newOutTradeNo(),
        userId: `user-${randomUUID().slice(0, 8)}`,
        amountTotal: 1000,
        points: 1000,
        bonusPoints: 100,
        status: 'pending',
        timeExpire: new Date(Date.now() + 3_600_000),
        ...o,
      };
      await pool.query(
        `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total,
           points, bonus_points, status, time_expire, next_check_at)
         VALUES (?, ?, ?, ?, 'NATIVE', 'points recharge', ?, ?, ?, ?, ?, ?)`,
        [
          order.outTradeNo,
          order.userId,
          MCHID,
          APPID,
          order.amountTotal,
          order.points,
          order.bonusPoints,
          order.status,
          order.timeExpire,
          new Date(),
        ],
      );
      return order;
    },
    signer,
    async observe(...obs) {
      await publishAll(await Promise.all(obs.map((o) => (o.evidence ? o : signer.sign(o)))));
    },
    async observeAsIs(...obs) {
      await publishAll(obs);
    },
    evidenceEnv,
    async publishRaw(key, value) {
      await producer.send({ topic: topics.paymentObservations, acks: -1, messages: [{ key, value }] });
    },
    async waitUntilConsumed(timeoutMs = 60_000) {
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
    async close() {
      // Every step runs even when an earlier one fails (a broker that just restarted), so nothing
      // is left open to keep Jest alive.
      const steps = [
        ...services.map((s) => () => s.stop('test finished')),
        () => collector.disconnect(),
        () => producer.disconnect(),
        () => ledgerAccount.drop(),
        () => pool.end(),
        () => created.remove(),
        () => db.drop(),
        () => (keyDir ? rm(keyDir, { recursive: true, force: true }) : Promise.resolve()),
      ];
      for (const step of steps) await step().catch(() => {});
    },
  };
}
