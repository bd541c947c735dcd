import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS, type TopicNames, topicNames } from '@paysync/contracts';
import { createPool, migrateUp, type Pool, type RowDataPacket } from '@paysync/db';
import { createIdempotentProducer, createKafka, publish } from '@paysync/kafka';
import { queryAnswer, queryObservation } from '@paysync/orders';
import {
  createIsolatedDatabase,
  createIsolatedTopics,
  type IsolatedDatabase,
  REPO_ROOT,
  sandboxClient,
  testEnv,
  uniqueName,
} from '@paysync/testkit';
import { type Sandbox, startSandbox } from '@paysync/wechatpay-sandbox';
import type { Producer } from 'kafkajs';
import {
  type DingtalkReceiver,
  type SmtpReceiver,
  startDingtalkReceiver,
  startSmtpReceiver,
} from '../../services/alerting/test/receivers/index.ts';
import { freePort, type Proc, readyLine, runToEnd, startProcess } from './processes.ts';

const main = (service: string) => join(REPO_ROOT, 'services', service, 'src/main.ts');
export const CALLBACK_PATH = '/api/payment/wechat/callback';
export const ALERT_FROM = 'paysync-alerts@example.com';
export const ALERT_TO = 'sre-oncall@example.com';
export const SMTP_USER = 'paysync-alerts';

/**
 * paysync as processes against real MariaDB and Kafka, with the WeChat Pay sandbox, the local SMTP
 * and DingTalk receivers, and the alerting service's webhook protected by a token.
 */
export async function startPaysyncStack(name: string) {
  // Whatever is started is stopped again, in reverse order, if a later step fails.
  const undo: (() => Promise<unknown>)[] = [];
  try {
    return await build(name, undo);
  } catch (err) {
    for (const step of undo.reverse()) await step().catch(() => {});
    throw err;
  }
}

async function build(name: string, undo: (() => Promise<unknown>)[]) {
  const dir = await mkdtemp(join(tmpdir(), 'paysync-e2e-'));
  undo.push(() => rm(dir, { recursive: true, force: true }));
  const procs: Proc[] = [];
  undo.push(() => Promise.all(procs.map((p) => p.stop())));
  const db: IsolatedDatabase = await createIsolatedDatabase(name);
  undo.push(() => db.drop());
  const pool: Pool = createPool({ url: db.url, connectionLimit: 4 });
  undo.push(() => pool.end());
  await migrateUp(pool);
  const prefix = uniqueName(name);
  const topics: TopicNames = topicNames(prefix);
  const createdTopics = await createIsolatedTopics(Object.values(topics), 3);
  undo.push(() => createdTopics.remove());
  const kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: prefix });
  const producer: Producer = createIdempotentProducer(kafka);
  await producer.connect();
  undo.push(() => producer.disconnect());
  const sandbox: Sandbox = await startSandbox({ timeScale: 0.001 });
  undo.push(() => sandbox.close());
  const m = sandbox.merchant!;

  const smtpPass = randomBytes(12).toString('hex');
  const smtp: SmtpReceiver = await startSmtpReceiver({ user: SMTP_USER, pass: smtpPass });
  undo.push(() => smtp.close());
  const dingtalkSecret = `SEC${randomBytes(16).toString('hex')}`;
  const dingtalk: DingtalkReceiver = await startDingtalkReceiver({
    accessToken: randomUUID(),
    secret: dingtalkSecret,
  });
  undo.push(() => dingtalk.close());
  const webhookToken = randomBytes(24).toString('hex');
  const files = {
    privateKey: join(dir, 'apiclient_key.pem'),
    apiV3Key: join(dir, 'apiv3.key'),
    webhookToken: join(dir, 'alerting-token'),
    smtpPassword: join(dir, 'smtp-password'),
    dingtalkSecret: join(dir, 'dingtalk-secret'),
    routes: join(dir, 'routes.yaml'),
  };
  await writeFile(files.privateKey, m.privateKeyPem, { mode: 0o600 });
  await writeFile(files.apiV3Key, m.apiV3Key, { mode: 0o600 });
  await writeFile(files.webhookToken, `${webhookToken}\n`, { mode: 0o600 });
  await writeFile(files.smtpPassword, smtpPass, { mode: 0o600 });
  await writeFile(files.dingtalkSecret, `${dingtalkSecret}\n`, { mode: 0o600 });
  await writeFile(
    files.routes,
    `defaults: { locale: zh+en, cooldown: 30m }
channels:
  sre-email:
    type: email
    from: ${ALERT_FROM}
    to: [${ALERT_TO}]
    smtp: { url: { env: E2E_SMTP_URL } }
    locale: en
  payments-dingtalk:
    type: dingtalk
    url: { env: E2E_DINGTALK_URL }
    secret: { file: ${files.dingtalkSecret} }
routes:
  - channels: [sre-email, payments-dingtalk]
`,
  );

  const common = {
    MYSQL_URL: db.url,
    KAFKA_BROKERS: testEnv().kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    LOG_LEVEL: 'info',
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
  };
  const wechat = {
    WECHATPAY_MCHID: m.mchid,
    WECHATPAY_MERCHANT_SERIAL_NO: m.certificateSerial,
    WECHATPAY_PRIVATE_KEY_FILE: files.privateKey,
    WECHATPAY_API_V3_KEY_FILE: files.apiV3Key,
    WECHATPAY_BASE_URLS: sandbox.url,
    WECHATPAY_ALLOW_INSECURE_HTTP: 'true',
  };
  const gatewayPort = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const notifyUrl = `${gatewayUrl}${CALLBACK_PATH}`;
  const apiToken = randomBytes(24).toString('hex');

  const start = async (service: string, message: string, env: Record<string, string>) => {
    const { proc, ready } = await startProcess(service, process.execPath, [main(service)], {
      env: { ...common, ...env },
      ready: readyLine(message),
    });
    procs.push(proc);
    return { proc, ready };
  };
  const [ledger, alerting, gateway] = await Promise.all([
    start('points-ledger', 'points-ledger ready', {
      LEDGER_GROUP_ID: `${prefix}-ledger`,
      WECHATPAY_API_V3_KEY_FILE: files.apiV3Key,
    }),
    start('alerting', 'alerting ready', {
      ALERTING_GROUP_ID: `${prefix}-alerting`,
      ALERTING_ROUTES_FILE: files.routes,
      ALERTING_HOST: '127.0.0.1',
      ALERTING_PORT: '0',
      ALERTING_WEBHOOK_TOKEN_FILE: files.webhookToken,
      ALERTING_RUNBOOK_BASE_URL: 'https://runbooks.example.com/paysync/',
      ALERTING_POLL_INTERVAL: '200ms',
      E2E_SMTP_URL: `smtp://${SMTP_USER}:${smtpPass}@${smtp.host}:${smtp.port}`,
      E2E_DINGTALK_URL: dingtalk.url,
    }),
    start('callback-gateway', 'callback-gateway ready', {
      ...wechat,
      WECHATPAY_APPID: m.appid,
      WECHATPAY_NOTIFY_URL: notifyUrl,
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: String(gatewayPort),
      GATEWAY_API_TOKEN: apiToken,
      GATEWAY_FIRST_CHECK_DELAY: '0s',
    }),
  ]);

  const stack = {
    dir,
    db,
    pool,
    topics,
    sandbox,
    smtp,
    dingtalk,
    secrets: { smtpPass, dingtalkSecret, webhookToken },
    files,
    procs,
    ops: {
      ledger: String(ledger.ready.ops),
      alerting: String(alerting.ready.ops),
      gateway: String(gateway.ready.ops),
    },
    alertingUrl: String(alerting.ready.url),
    gatewayUrl,
    notifyUrl,

    /** The merchant back end creates a points-recharge order through the gateway's API. */
    async createOrder(amountFen = 1000): Promise<string> {
      const res = await fetch(`${gatewayUrl}/api/payment/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          merchant_order_no: `M${randomUUID().replace(/-/g, '').slice(0, 20)}`,
          user_id: `user-${randomUUID().slice(0, 8)}`,
          amount_fen: amountFen,
          points: amountFen / 10,
          trade_type: 'NATIVE',
          description: 'points recharge',
        }),
      });
      const body = (await res.json()) as { out_trade_no?: string };
      if (res.status !== 201 || !body.out_trade_no)
        throw new Error(`order not created: ${res.status} ${JSON.stringify(body)}`);
      return body.out_trade_no;
    },

    /** One reconciler sweep as the CronJob runs it, pushing its metrics to the Pushgateway. */
    async sweep(pushgateway: string): Promise<{ code: number | null; lines: string[] }> {
      return runToEnd('reconciler', process.execPath, [main('reconciler'), 'sweep'], {
        ...common,
        ...wechat,
        WECHATPAY_NOTIFY_URL: notifyUrl,
        RECONCILER_NOTIFY_URL_ALLOW_INSECURE: 'true',
        RECONCILER_PUSHGATEWAY_URL: pushgateway,
        RECONCILER_MISSED_NOTIFICATION_AFTER: '0s',
      });
    },

    /** One trade-bill run (yesterday, Beijing time) as its CronJob runs it, pushing its metrics. */
    async bill(pushgateway: string): Promise<{ code: number | null; lines: string[] }> {
      return runToEnd('reconciler', process.execPath, [main('reconciler'), 'bill'], {
        ...common,
        ...wechat,
        RECONCILER_NOTIFY_PROBE: 'false',
        RECONCILER_PUSHGATEWAY_URL: pushgateway,
      });
    },

    /**
     * WeChat's signed word about an order paysync does not have (created and paid at WeChat, never
     * here): the ledger verifies it and dead-letters it as an unknown order.
     */
    async publishUnknownOrderObservation(): Promise<string> {
      const outTradeNo = `RCUNKNOWN${Date.now().toString(36)}`.slice(0, 32);
      const client = await sandboxClient(sandbox, { archive: pool });
      try {
        await client.prepayNative({
          appid: m.appid,
          description: 'points recharge',
          outTradeNo,
          notifyUrl: 'http://127.0.0.1:1/api/payment/wechat/callback',
          amountTotal: 100,
        });
        sandbox.pay(outTradeNo);
        const ref = { outTradeNo, mchid: m.mchid };
        const obs = queryObservation(await queryAnswer(client, ref), ref, {
          observationId: randomUUID(),
          source: 'query',
          observedAt: new Date(),
          producer: 'e2e',
        });
        await publish(producer, TOPICS.paymentObservations, [obs], {
          destination: topics.paymentObservations,
        });
      } finally {
        await client.close();
      }
      return outTradeNo;
    },

    async orderStatus(outTradeNo: string): Promise<string | undefined> {
      const [rows] = await pool.query<(RowDataPacket & { status: string })[]>(
        'SELECT status FROM payment_orders WHERE out_trade_no = ?',
        [outTradeNo],
      );
      return rows[0]?.status;
    },

    async close(): Promise<void> {
      await Promise.all(procs.map((p) => p.stop()));
      await producer.disconnect().catch(() => {});
      await sandbox.close();
      await smtp.close();
      await dingtalk.close();
      await pool.end();
      await createdTopics.remove().catch(() => {});
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

export type PaysyncStack = Awaited<ReturnType<typeof build>>;
