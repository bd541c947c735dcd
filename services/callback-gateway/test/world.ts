import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeMessage,
  type PaymentObservation,
  TOPICS,
  type TopicNames,
  topicNames,
} from '@paysync/contracts';
import { createComponentAccount, createPool, migrateUp, type Pool, type RowDataPacket } from '@paysync/db';
import { createConsumer, createKafka } from '@paysync/kafka';
import { type RunningService, ServiceStartError, startService } from '@paysync/observability';
import { type LedgerConfig, ledgerService } from '@paysync/points-ledger';
import {
  createIsolatedDatabase,
  createIsolatedTopics,
  eventually,
  type IsolatedDatabase,
  sandboxClient,
  testEnv,
  uniqueName,
} from '@paysync/testkit';
import type { WeChatPayClient } from '@paysync/wechatpay';
import {
  type Sandbox,
  type SandboxOptions,
  startSandbox,
  type TestMerchant,
} from '@paysync/wechatpay-sandbox';
import type { Consumer, Kafka } from 'kafkajs';
import { Pool as HttpPool } from 'undici';
import { defineGatewayService, type GatewayService } from '../src/compose.ts';
import {
  CALLBACK_PATH,
  type GatewayApp,
  type GatewayConfig,
  type GatewayMetrics,
  type ObservationPublisher,
} from '../src/index.ts';

export const API_TOKEN = `write-${randomBytes(24).toString('hex')}`;
export const READ_TOKEN = `read-${randomBytes(24).toString('hex')}`;
export const API_V2_KEY = randomBytes(16).toString('hex');

export type WorldOptions = {
  /**
   * The sandbox's settings. With a WeChat Pay public key (`keyMode: 'both'`), the gateway and the
   * ledger are configured with it from the start, as an operator does before WeChat signs with it.
   */
  sandbox?: SandboxOptions;
  /**
   * The gateway's Kafka client (a test routes it through a fault proxy; see `GatewaySeams`).
   * Default: the one its configuration (KAFKA_BROKERS) makes.
   */
  gatewayKafka?: (brokers: string[]) => Kafka;
  publishTimeoutMs?: number;
  /** The gateway's database is down (MYSQL_URL names a port nothing listens on); the world's own pool works. */
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
   * What the gateway serves (GATEWAY_ROLE). receiver: callbacks only, verifying with the
   * certificates archived in MySQL (the world's `orderService` client archives them before the
   * gateway starts), no order API. orders: the order API only. Default: all.
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
 * Pay, the gateway as production builds it (src/compose.ts through the service kernel, configured
 * by its environment and key files, under its own database account) on loopback, a collector of
 * every observation on the topic, the log lines the gateway wrote, and the points-ledger on demand.
 */
export type GatewayWorld = {
  sandbox: Sandbox;
  merchant: TestMerchant;
  /** The test's administrator pool. */
  pool: Pool;
  topics: TopicNames;
  kafka: Kafka;
  /** The running gateway: its configuration, ops URL, and `stop` (the SIGTERM path). */
  service: RunningService<GatewayConfig, GatewayService>;
  /** Parts of the running gateway. */
  gateway: GatewayApp;
  publisher: ObservationPublisher;
  metrics: GatewayMetrics;
  /**
   * The order service of a receiver world: a signing client of the merchant that archived the
   * platform certificates before the receiver started. Undefined in the other roles.
   */
  orderService: WeChatPayClient | undefined;
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
  /** The points-ledger as production builds it (its compose.ts through the kernel), stopped by `close`. */
  startLedger(): Promise<RunningService<LedgerConfig>>;
  waitUntilLedgerConsumed(): Promise<void>;
  close(): Promise<void>;
};

/** A loopback port free a moment ago (the notify URL must name the gateway's port before it starts). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const addressInUse = (err: unknown) =>
  err instanceof ServiceStartError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';

export async function createGatewayWorld(name: string, opts: WorldOptions = {}): Promise<GatewayWorld> {
  const brokers = testEnv().kafkaBrokers;
  const db: IsolatedDatabase = await createIsolatedDatabase(name);
  const pool = createPool({ url: db.url, connectionLimit: 8 });
  await migrateUp(pool);
  // The gateway runs under its own least-privileged account (the grants of @paysync/db); the
  // world's pool is the test's administrator.
  const role = opts.role ?? 'all';
  const gatewayAccount = await createComponentAccount(db.url, role === 'receiver' ? 'receiver' : 'orders');
  const prefix = uniqueName(name);
  const topics = topicNames(prefix);
  const created = await createIsolatedTopics(Object.values(topics), 3);
  const kafka = createKafka({ brokers, clientId: prefix });
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

  // The secrets as files, as a Secret volume mounts them.
  const keyDir = await mkdtemp(join(tmpdir(), 'paysync-gateway-keys-'));
  const secretFile = async (file: string, content: string) => {
    await writeFile(join(keyDir, file), content, { mode: 0o600 });
    return join(keyDir, file);
  };
  const publicKey = sandbox.keys().publicKey;
  const evidenceEnv: Record<string, string> = {
    WECHATPAY_API_V3_KEY_FILE: await secretFile('apiv3.key', merchant.apiV3Key),
    ...(publicKey
      ? {
          WECHATPAY_PUBLIC_KEY_ID: publicKey.id,
          WECHATPAY_PUBLIC_KEY_FILE: await secretFile('wechatpay-public.pem', publicKey.publicKeyPem),
        }
      : {}),
  };
  const signingEnv: Record<string, string> =
    role === 'receiver'
      ? {}
      : {
          WECHATPAY_MERCHANT_SERIAL_NO: merchant.certificateSerial,
          WECHATPAY_PRIVATE_KEY_FILE: await secretFile('apiclient_key.pem', merchant.privateKeyPem),
          GATEWAY_API_TOKEN_FILE: await secretFile('api-token', API_TOKEN),
          GATEWAY_API_READ_TOKEN_FILE: await secretFile('api-read-token', READ_TOKEN),
        };
  const v2KeyFile = await secretFile('apiv2.key', API_V2_KEY);
  const env = (port: number): Record<string, string> => ({
    GATEWAY_ROLE: role,
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: String(port),
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    LOG_LEVEL: 'debug',
    MYSQL_URL: opts.gatewayMysqlDown ? 'mysql://paysync:paysync@127.0.0.1:1/paysync' : gatewayAccount.url,
    GATEWAY_DB_POOL_SIZE: '8',
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    WECHATPAY_MCHID: merchant.mchid,
    WECHATPAY_APPID: merchant.appid,
    WECHATPAY_BASE_URLS: sandbox.url,
    WECHATPAY_ALLOW_INSECURE_HTTP: 'true',
    WECHATPAY_TIMEOUT: '3s',
    WECHATPAY_NOTIFY_URL: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    WECHATPAY_API_V2_KEY_FILE: v2KeyFile,
    WECHATPAY_API_V2_SIGN_TYPE: 'HMAC-SHA256',
    GATEWAY_MAX_BODY_BYTES: String(opts.maxBodyBytes ?? 64 * 1024),
    GATEWAY_MAX_IN_FLIGHT: String(opts.maxInFlight ?? 512),
    GATEWAY_KAFKA_PUBLISH_TIMEOUT: `${opts.publishTimeoutMs ?? 3000}ms`,
    GATEWAY_CONFIRM_WAIT: `${opts.confirmWaitMs ?? 10_000}ms`,
    ...evidenceEnv,
    ...signingEnv,
  });

  // The order service of a receiver world archives the platform certificates before the receiver
  // starts (the receiver account only reads them).
  const orderService =
    role === 'receiver' ? await sandboxClient({ url: sandbox.url, merchant }, { archive: pool }) : undefined;

  const logs: string[] = [];
  const destination = { write: (line: string) => void logs.push(line) };
  const { gatewayKafka } = opts;
  const definition = defineGatewayService(gatewayKafka ? { kafka: () => gatewayKafka(brokers) } : {});
  let service: RunningService<GatewayConfig, GatewayService> | undefined;
  // The notify URL names the port, so the port is chosen first; another process may take it in
  // between: then the gateway did not start, and starts again on another.
  for (let attempt = 1; !service; attempt += 1) {
    try {
      service = await startService(definition, { env: env(await freePort()), destination });
    } catch (err) {
      if (!addressInUse(err) || attempt === 5) throw err;
      logs.length = 0;
    }
  }
  const running = service;
  const url = `http://127.0.0.1:${running.config.GATEWAY_PORT}`;
  const client = new HttpPool(url, { connections: 64 });

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
  const ledgers: RunningService<LedgerConfig>[] = [];
  let ledgerAccount: Awaited<ReturnType<typeof createComponentAccount>> | undefined;

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
    service: running,
    gateway: running.service.parts.app,
    publisher: running.service.parts.publisher,
    metrics: running.service.parts.metrics,
    orderService,
    url,
    notifyUrl: running.config.WECHATPAY_NOTIFY_URL,
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
      ledgerAccount ??= await createComponentAccount(db.url, 'ledger');
      const ledger = await startService(ledgerService, {
        env: {
          MYSQL_URL: ledgerAccount.url,
          KAFKA_BROKERS: brokers.join(','),
          KAFKA_TOPIC_PREFIX: prefix,
          LEDGER_GROUP_ID: ledgerGroup,
          LEDGER_BATCH_SIZE: '50',
          METRICS_HOST: '127.0.0.1',
          METRICS_PORT: '0',
          LOG_LEVEL: 'silent',
          ...evidenceEnv,
        },
      });
      ledgers.push(ledger);
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
      // Every step runs even when an earlier one fails, so nothing is left open to keep Jest alive.
      const steps = [
        () => client.close(),
        ...ledgers.map((l) => () => l.stop('test finished')),
        () => running.stop('test finished'),
        () => collector.disconnect(),
        () => admin.disconnect(),
        async () => orderService?.close(),
        () => sandbox.close(),
        async () => ledgerAccount?.drop(),
        () => gatewayAccount.drop(),
        () => pool.end(),
        () => created.remove(),
        () => db.drop(),
        () => rm(keyDir, { recursive: true, force: true }),
      ];
      for (const step of steps) await step().catch(() => {});
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
