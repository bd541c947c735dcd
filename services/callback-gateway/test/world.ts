import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadConfig } from '@paysync/config';
import {
  decodeMessage,
  type PaymentObservation,
  TOPICS,
  type TopicNames,
  topicNames,
} from '@paysync/contracts';
import { createComponentAccount, createPool, migrateUp, type Pool, type RowDataPacket } from '@paysync/db';
import { createConsumer, createIdempotentProducer, createKafka } from '@paysync/kafka';
import {
  createLogger,
  createRegistry,
  type HttpServer,
  type Logger,
  type Registry,
  startHttpServer,
} from '@paysync/observability';
import { certificateArchiver } from '@paysync/orders';
import { createLedgerConsumer, createLedgerMetrics, type LedgerConsumer } from '@paysync/points-ledger';
import {
  createIsolatedDatabase,
  createIsolatedTopics,
  eventually,
  type IsolatedDatabase,
  sandboxEvidence,
  testEnv,
  uniqueName,
} from '@paysync/testkit';
import { wechatPayEnvShape } from '@paysync/wechatpay';
import {
  type Sandbox,
  type SandboxOptions,
  startSandbox,
  type TestMerchant,
} from '@paysync/wechatpay-sandbox';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { Pool as HttpPool } from 'undici';
import { z } from 'zod';
import {
  CALLBACK_PATH,
  createApp,
  createGatewayMetrics,
  createObservationPublisher,
  createReceiverKeys,
  createWeChat,
  type GatewayApp,
  type GatewayMetrics,
  type ObservationPublisher,
  type WeChat,
} from '../src/index.ts';

export const API_TOKEN = `write-${randomBytes(24).toString('hex')}`;
export const READ_TOKEN = `read-${randomBytes(24).toString('hex')}`;
export const API_V2_KEY = randomBytes(16).toString('hex');

export type WorldOptions = {
  sandbox?: SandboxOptions;
  /** The gateway's Kafka client (a test may route it through a fault proxy). Default: the test broker. */
  gatewayKafka?: (brokers: string[]) => Kafka;
  publishTimeoutMs?: number;
  /** The gateway's database is down (its pool points where nothing listens); the world's own pool works. */
  gatewayMysqlDown?: boolean;
  maxInFlight?: number;
  confirmWaitMs?: number;
  maxBodyBytes?: number;
  /**
   * Merchants the sandbox knows (the gateway is the first one's, accepting only its `appid`).
   * Default: one generated merchant.
   */
  merchants?: TestMerchant[];
  /**
   * What the gateway app serves (GATEWAY_ROLE). receiver: callbacks only, verifying with the
   * certificates archived in MySQL (the world's signing client archives them), no order API.
   * orders: the order API only. Default: all.
   */
  role?: 'all' | 'receiver' | 'orders';
};

// biome-ignore lint/suspicious/noExplicitAny: test assertions read rows and JSON answers loosely
export type Loose = any;
/** Rows of a test query, read loosely by assertions. */
export type Rows = (RowDataPacket & Record<string, Loose>)[];

export type HttpAnswer = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
};

/**
 * A gateway test world: its own database (migrated) and topics, a sandbox standing in for WeChat
 * Pay, the gateway app on loopback built from real parts, a collector of every observation on
 * the topic, the log lines the gateway wrote, and the points-ledger on demand.
 */
export type GatewayWorld = {
  sandbox: Sandbox;
  merchant: TestMerchant;
  pool: Pool;
  topics: TopicNames;
  kafka: Kafka;
  publisher: ObservationPublisher;
  wechat: WeChat;
  metrics: GatewayMetrics;
  registry: Registry;
  gateway: GatewayApp;
  http: HttpServer;
  url: string;
  notifyUrl: string;
  logs: string[];
  observations: PaymentObservation[];
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<HttpAnswer>;
  api(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    token?: string | null,
  ): Promise<HttpAnswer & { json: Loose }>;
  /** Observations written to the topic so far (sum of the partitions' high watermarks). */
  topicCount(): Promise<number>;
  /** Waits until the collector has consumed everything on the topic. */
  collected(): Promise<PaymentObservation[]>;
  startLedger(): Promise<LedgerConsumer>;
  waitUntilLedgerConsumed(): Promise<void>;
  close(): Promise<void>;
};

export async function createGatewayWorld(name: string, opts: WorldOptions = {}): Promise<GatewayWorld> {
  const env = testEnv();
  const db: IsolatedDatabase = await createIsolatedDatabase(name);
  const pool = createPool({ url: db.url, connectionLimit: 8 });
  await migrateUp(pool);
  // The gateway runs under its own least-privileged account (the grants of @paysync/db); the
  // world's pool is the test's administrator.
  const gatewayAccount = await createComponentAccount(
    db.url,
    opts.role === 'receiver' ? 'receiver' : 'orders',
  );
  const ownPool = createPool({ url: gatewayAccount.url, connectionLimit: 8 });
  const prefix = uniqueName(name);
  const topics = topicNames(prefix);
  const created = await createIsolatedTopics(Object.values(topics), 3);
  const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: prefix });
  const sandbox = await startSandbox({
    timeScale: 0.001,
    ...opts.sandbox,
    ...(opts.merchants
      ? {
          merchants: opts.merchants.map((m) => ({
            mchid: m.mchid,
            appids: m.appids,
            apiV3Key: m.apiV3Key,
            certificateSerial: m.certificateSerial,
            publicKeyPem: m.publicKeyPem,
          })),
        }
      : {}),
  });
  const merchant = (opts.merchants?.[0] ?? sandbox.merchant) as TestMerchant;

  const logs: string[] = [];
  const logger: Logger = createLogger({
    service: 'callback-gateway',
    level: 'debug',
    destination: { write: (line: string) => void logs.push(line) },
  });
  const registry = createRegistry('callback-gateway', { processMetrics: false });
  const metrics = createGatewayMetrics(registry);
  const gatewayKafka =
    opts.gatewayKafka?.(env.kafkaBrokers) ??
    createKafka({
      brokers: env.kafkaBrokers,
      clientId: `${prefix}-gateway`,
      logger,
    });
  const wechat = createWeChat(
    {
      // Parsed like the gateway's own environment; the keys are handed over below, not read from files.
      env: loadConfig('callback-gateway', z.object(wechatPayEnvShape), {
        WECHATPAY_MCHID: merchant.mchid,
        WECHATPAY_MERCHANT_SERIAL_NO: merchant.certificateSerial,
        WECHATPAY_PRIVATE_KEY_FILE: '(in memory)',
        WECHATPAY_API_V3_KEY_FILE: '(in memory)',
        WECHATPAY_BASE_URLS: sandbox.url,
        WECHATPAY_ALLOW_INSECURE_HTTP: 'true',
        WECHATPAY_TIMEOUT: '3s',
      }),
      secrets: {
        privateKeyPem: merchant.privateKeyPem,
        apiV3Key: merchant.apiV3Key,
        publicKeyPem: undefined,
      },
      // The order service archives the certificates; a receiver world's account only reads them.
      onCertificates: certificateArchiver(opts.role === 'receiver' ? pool : ownPool, () => {}),
    },
    metrics,
  );
  await wechat.client.start();
  const publisher = createObservationPublisher({
    createProducer: () => createIdempotentProducer(gatewayKafka),
    topic: topics.paymentObservations,
    timeoutMs: opts.publishTimeoutMs ?? 3000,
    metrics,
  });
  await publisher.start();

  // Listen first: the notify URL names the port.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const http = await startHttpServer((req, res) => handler(req, res));
  const notifyUrl = `${http.url}${CALLBACK_PATH}`;
  const gatewayPool = opts.gatewayMysqlDown
    ? createPool({ url: 'mysql://paysync:paysync@127.0.0.1:1/paysync', connectionLimit: 2 })
    : ownPool;
  const role = opts.role ?? 'all';
  let verifier = role === 'orders' ? undefined : wechat.verifier;
  if (role === 'receiver') {
    const receiver = createReceiverKeys(
      { env: {}, secrets: { apiV3Key: merchant.apiV3Key, publicKeyPem: undefined }, pool: ownPool },
      metrics,
    );
    await receiver.keyStore.start();
    verifier = receiver.verifier;
  }
  const signs = role !== 'receiver';
  const gateway = createApp({
    logger,
    metrics,
    verifier,
    publisher,
    pool: gatewayPool,
    wechat: signs ? wechat.client : undefined,
    merchant: { mchid: merchant.mchid, appids: [merchant.appid] },
    apiV2Key: { key: API_V2_KEY, signType: 'HMAC-SHA256' },
    notifyUrl,
    tokens: signs ? { write: API_TOKEN, read: READ_TOKEN } : undefined,
    limits: {
      maxBodyBytes: opts.maxBodyBytes ?? 64 * 1024,
      maxInFlight: opts.maxInFlight ?? 512,
      apiMaxInFlight: 64,
    },
    orders: {
      firstCheckDelayMs: 60_000,
      defaultTtlMs: 30 * 60_000,
      maxPointsPerFen: 2,
      confirmWaitMs: opts.confirmWaitMs ?? 10_000,
      confirmMinIntervalMs: 2000,
    },
  });
  handler = gateway.app;
  const client = new HttpPool(http.url, { connections: 64 });

  const observations: PaymentObservation[] = [];
  const collector: Consumer = createConsumer(kafka, { groupId: `${prefix}-collector` });
  await collector.connect();
  await collector.subscribe({ topic: topics.paymentObservations, fromBeginning: true });
  await collector.run({
    eachMessage: async ({ message }) => {
      observations.push(decodeMessage(TOPICS.paymentObservations, message.value));
    },
  });

  const admin = kafka.admin();
  await admin.connect();
  const ledgerGroup = `${prefix}-ledger`;
  const ledgers: { ledger: LedgerConsumer; producer: Producer }[] = [];

  async function request(method: 'GET' | 'POST', path: string, body?: string | Buffer, headers = {}) {
    const res = await client.request({ method, path, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  }

  async function topicCount(): Promise<number> {
    const offsets = await admin.fetchTopicOffsets(topics.paymentObservations);
    return offsets.reduce((n, p) => n + Number(p.high), 0);
  }

  return {
    sandbox,
    merchant,
    pool,
    topics,
    kafka,
    publisher,
    wechat,
    metrics,
    registry,
    gateway,
    http,
    url: http.url,
    notifyUrl,
    logs,
    observations,
    post: (path, body, headers = { 'content-type': 'application/json' }) =>
      request('POST', path, body, headers),
    async api(method, path, body, token = API_TOKEN) {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const answer = await request(
        method,
        path,
        body === undefined ? undefined : JSON.stringify(body),
        headers,
      );
      let json: unknown;
      try {
        json = JSON.parse(answer.text);
      } catch {
        json = undefined;
      }
      return { ...answer, json };
    },
    topicCount,
    async collected() {
      const total = await topicCount();
      await eventually('the collector to read every observation', async () =>
        observations.length >= total ? true : undefined,
      );
      return observations;
    },
    async startLedger() {
      const ledgerRegistry = createRegistry('points-ledger', { processMetrics: false });
      const ledgerMetrics = createLedgerMetrics(ledgerRegistry, {
        pool,
        groupId: ledgerGroup,
        topic: topics.paymentObservations,
      });
      const producer = createIdempotentProducer(kafka);
      await producer.connect();
      const ledger = createLedgerConsumer({
        pool,
        logger: createLogger({ service: 'points-ledger-test', level: 'silent' }),
        evidence: sandboxEvidence(pool, sandbox, merchant.apiV3Key),
        kafka,
        producer,
        metrics: ledgerMetrics,
        groupId: ledgerGroup,
        topics,
        batchSize: 50,
      });
      await ledger.start();
      ledgers.push({ ledger, producer });
      return ledger;
    },
    async waitUntilLedgerConsumed() {
      await eventually(
        'the ledger to consume every observation',
        async () => {
          const [ends, committed] = await Promise.all([
            admin.fetchTopicOffsets(topics.paymentObservations),
            admin.fetchOffsets({ groupId: ledgerGroup, topics: [topics.paymentObservations] }),
          ]);
          const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
          return ends.every((e) => e.high === '0' || done.get(e.partition) === e.high) ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
    },
    async close() {
      gateway.markShuttingDown();
      await http.close(2000);
      await client.close();
      for (const { ledger, producer } of ledgers) {
        await ledger.stop().catch(() => {});
        await producer.disconnect().catch(() => {});
      }
      await collector.disconnect();
      await admin.disconnect();
      await publisher.stop().catch(() => {});
      await wechat.client.close();
      await sandbox.close();
      if (gatewayPool !== ownPool) await gatewayPool.end();
      await ownPool.end();
      await gatewayAccount.drop();
      await pool.end();
      await created.remove().catch(() => {});
      await db.drop();
    },
  };
}

/** Creates a Native order through the gateway's API and returns its out_trade_no. */
export async function createNativeOrder(
  world: GatewayWorld,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const res = await world.api('POST', '/api/payment/orders', {
    merchant_order_no: `M${randomBytes(8).toString('hex')}`,
    user_id: `user-${randomBytes(4).toString('hex')}`,
    amount_fen: 1000,
    points: 1000,
    bonus_points: 100,
    trade_type: 'NATIVE',
    description: '积分充值',
    ...overrides,
  });
  if (res.status !== 201) throw new Error(`order creation answered ${res.status}: ${res.text}`);
  return res.json.out_trade_no as string;
}
