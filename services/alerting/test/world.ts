import { randomUUID } from 'node:crypto';
import { type DomainAlert, type MessageInput, TOPICS, type TopicNames, topicNames } from '@paysync/contracts';
import { createComponentAccount, createPool, migrateUp, type Pool, type RowDataPacket } from '@paysync/db';
import { createIdempotentProducer, createKafka, publish } from '@paysync/kafka';
import { createLogger, createRegistry, type Registry } from '@paysync/observability';
import {
  createIsolatedDatabase,
  createIsolatedTopics,
  eventually,
  type IsolatedDatabase,
  testEnv,
  uniqueName,
} from '@paysync/testkit';
import type { Kafka, Producer } from 'kafkajs';
import {
  type AlertingService,
  type AlertingSettings,
  createAlertingService,
  parseRoutes,
} from '../src/index.ts';
import {
  type DingtalkReceiver,
  type SmtpReceiver,
  startDingtalkReceiver,
  startSmtpReceiver,
  startWecomReceiver,
  type WecomReceiver,
} from './receivers/index.ts';

export const SMTP_USER = 'paysync-alerts';
export const FROM = 'paysync-alerts@example.com';
export const TO = ['sre-oncall@example.com', 'payments-lead@example.com'];
export const RUNBOOK_BASE = 'https://runbooks.example.com/paysync/';

/** Settings that make retries and breaker recoveries take a second rather than minutes. */
export function fastSettings(groupId: string, overrides: Partial<AlertingSettings> = {}): AlertingSettings {
  return {
    groupId,
    http: { host: '127.0.0.1', port: 0 },
    runbookBaseUrl: RUNBOOK_BASE,
    batchMax: 10,
    breaker: {
      errorThresholdPercentage: 50,
      volumeThreshold: 2,
      rollingCountTimeoutMs: 30_000,
      resetTimeoutMs: 1000,
    },
    dispatch: {
      pollIntervalMs: 100,
      retry: { baseMs: 200, maxMs: 500 },
      maxAgeMs: 3_600_000,
      leaseMs: 10_000,
      sendTimeoutMs: 3000,
    },
    ...overrides,
  };
}

/** The routes file the tests use: secrets come from "environment variables" it names. */
export function routesYaml(extra = '', extraRoutes = ''): string {
  return `
defaults: { locale: zh+en, cooldown: 30m }
channels:
  email:
    type: email
    from: ${FROM}
    to: [${TO.join(', ')}]
    smtp: { url: { env: TEST_SMTP_URL } }
    locale: en
  dingtalk:
    type: dingtalk
    url: { env: TEST_DINGTALK_URL }
    secret: { env: TEST_DINGTALK_SECRET }
    atMobiles: ["13800000000"]
  wecom:
    type: wecom
    url: { env: TEST_WECOM_URL }
    locale: zh
${extra}
routes:
${extraRoutes}
  - match: { severity: [critical] }
    channels: [email, dingtalk, wecom]
  - match: { severity: [warning] }
    channels: [dingtalk]
  - channels: [email]
`;
}

let seq = 0;
export function newOrderNo(): string {
  seq += 1;
  return `RCA${Date.now().toString(36)}${process.pid.toString(36)}${seq}`.slice(0, 32);
}

export function domainAlert(overrides: Partial<DomainAlert> = {}): MessageInput<typeof TOPICS.alerts> {
  const outTradeNo = overrides.outTradeNo ?? newOrderNo();
  return {
    alertId: randomUUID(),
    type: 'missed_notification',
    severity: 'critical',
    outTradeNo,
    summary: `WeChat reports ${outTradeNo} paid 540 s ago but no notification settled it`,
    details: { delay_seconds: 540, success_time: '2026-11-26T12:00:02+08:00' },
    dedupeKey: `missed_notification:${outTradeNo}`,
    source: 'reconciler',
    occurredAt: new Date().toISOString(),
    ...overrides,
  };
}

/**
 * An alerting test world: a migrated database of its own, its own alerts topic, the SMTP, DingTalk
 * and WeCom receivers, and alerting services started in-process on demand.
 */
export async function createAlertingWorld(
  name: string,
  opts: { extraChannels?: string; extraRoutes?: string; env?: Record<string, string> } = {},
) {
  const db: IsolatedDatabase = await createIsolatedDatabase(name);
  const pool: Pool = createPool({ url: db.url, connectionLimit: 10 });
  await migrateUp(pool);
  // The service runs under its own least-privileged account (only alert_deliveries); `pool` is
  // the test's administrator.
  const account = await createComponentAccount(db.url, 'alerting');
  const alertingPool: Pool = createPool({ url: account.url, connectionLimit: 10 });
  const prefix = uniqueName(name);
  const topics: TopicNames = topicNames(prefix);
  const created = await createIsolatedTopics([topics.alerts], 3);
  const kafka: Kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: prefix });
  const producer: Producer = createIdempotentProducer(kafka);
  await producer.connect();
  const smtpPass = randomUUID();
  const smtp: SmtpReceiver = await startSmtpReceiver({ user: SMTP_USER, pass: smtpPass });
  const dingtalkSecret = `SEC${randomUUID().replace(/-/g, '')}`;
  const dingtalk: DingtalkReceiver = await startDingtalkReceiver({
    accessToken: randomUUID(),
    secret: dingtalkSecret,
  });
  const wecom: WecomReceiver = await startWecomReceiver({ key: randomUUID() });
  const env: Record<string, string> = {
    TEST_SMTP_URL: `smtp://${SMTP_USER}:${smtpPass}@${smtp.host}:${smtp.port}`,
    TEST_DINGTALK_URL: dingtalk.url,
    TEST_DINGTALK_SECRET: dingtalkSecret,
    TEST_WECOM_URL: wecom.url,
    ...(opts.env ?? {}),
  };
  const routes = parseRoutes(routesYaml(opts.extraChannels, opts.extraRoutes), 'test-routes.yaml', {
    env,
    readFile: () => {
      throw new Error('no files in this test');
    },
  });
  const services = new Set<AlertingService>();
  const logger = createLogger({ service: 'alerting-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

  const world = {
    db,
    pool,
    topics,
    kafka,
    smtp,
    dingtalk,
    wecom,
    env,
    routes,
    logger,

    /** Starts an alerting service in this process (stopped by `close` if the test does not). */
    async startService(
      settings: Partial<AlertingSettings> & { groupId?: string } = {},
      over: { pool?: Pool; registry?: Registry } = {},
    ): Promise<AlertingService & { registry: Registry }> {
      const registry = over.registry ?? createRegistry('alerting', { processMetrics: false });
      const service = createAlertingService({
        pool: over.pool ?? alertingPool,
        kafka,
        registry,
        logger,
        routes,
        topics,
        settings: fastSettings(settings.groupId ?? `${prefix}-alerting`, settings),
      });
      await service.start();
      services.add(service);
      return Object.assign(service, { registry });
    },

    async stopService(service: AlertingService): Promise<void> {
      services.delete(service);
      await service.stop();
    },

    async publish(...alerts: MessageInput<typeof TOPICS.alerts>[]): Promise<void> {
      await publish(producer, TOPICS.alerts, alerts, { destination: topics.alerts });
    },

    /** Waits until the group has committed every alert published so far. */
    async waitUntilConsumed(groupId = `${prefix}-alerting`, timeoutMs = 30_000): Promise<void> {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await eventually(
          `alerting group ${groupId} to consume every alert`,
          async () => {
            const [ends, committed] = await Promise.all([
              admin.fetchTopicOffsets(topics.alerts),
              admin.fetchOffsets({ groupId, topics: [topics.alerts] }),
            ]);
            const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
            return ends.every((e) => e.high === '0' || done.get(e.partition) === e.high) ? true : undefined;
          },
          { timeoutMs, intervalMs: 100 },
        );
      } finally {
        await admin.disconnect();
      }
    },

    async deliveries(dedupeKey: string): Promise<RowDataPacket[]> {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT channel, alert_status, state, attempts, last_error FROM alert_deliveries WHERE dedupe_key = ? ORDER BY channel, alert_status',
        [dedupeKey],
      );
      return rows;
    },

    /** How many messages each receiver got that mention `needle`. */
    counts(needle: string): { email: number; dingtalk: number; wecom: number } {
      return {
        email: smtp.mails.filter((m) => m.text.includes(needle)).length,
        dingtalk: dingtalk.messages.filter((m) => m.text.includes(needle)).length,
        wecom: wecom.messages.filter((m) => m.content.includes(needle)).length,
      };
    },

    async close(): Promise<void> {
      for (const s of services) await s.stop().catch(() => {});
      await producer.disconnect().catch(() => {});
      await smtp.close();
      await dingtalk.close();
      await wecom.close();
      await alertingPool.end();
      await account.drop();
      await pool.end();
      await created.remove().catch(() => {});
      await db.drop();
    },
  };
  return world;
}

export type AlertingWorld = Awaited<ReturnType<typeof createAlertingWorld>>;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
