import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DomainAlert, type MessageInput, TOPICS, type TopicNames, topicNames } from '@paysync/contracts';
import { createComponentAccount, createPool, migrateUp, type Pool, type RowDataPacket } from '@paysync/db';
import { createIdempotentProducer, createKafka, publish } from '@paysync/kafka';
import { EXIT_CODES, type Registry, type RunningService, startService } from '@paysync/observability';
import {
  createIsolatedDatabase,
  createIsolatedTopics,
  eventually,
  type IsolatedDatabase,
  testEnv,
  uniqueName,
} from '@paysync/testkit';
import type { Kafka, Producer } from 'kafkajs';
import { type AlertingSetup, alertingService, type BuiltAlerting } from '../src/compose.ts';
import type { AlertingService } from '../src/index.ts';
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

/**
 * The world's alerting configuration: retries and breaker recoveries take a second rather than
 * minutes, and everything listens on loopback ports chosen by the system.
 */
const FAST_ENV: Record<string, string> = {
  ALERTING_HOST: '127.0.0.1',
  ALERTING_PORT: '0',
  METRICS_HOST: '127.0.0.1',
  METRICS_PORT: '0',
  ALERTING_RUNBOOK_BASE_URL: RUNBOOK_BASE,
  ALERTING_BATCH_MAX: '10',
  ALERTING_BREAKER_ERROR_PERCENTAGE: '50',
  ALERTING_BREAKER_VOLUME_THRESHOLD: '2',
  ALERTING_BREAKER_WINDOW: '30s',
  ALERTING_BREAKER_RESET_TIMEOUT: '1s',
  ALERTING_POLL_INTERVAL: '100ms',
  ALERTING_RETRY_BASE: '200ms',
  ALERTING_RETRY_MAX: '500ms',
  ALERTING_DELIVERY_MAX_AGE: '1h',
  ALERTING_SEND_TIMEOUT: '3s',
  ALERTING_DB_POOL_SIZE: '10',
};

/** An alerting service the world started, and the parts of it tests read. */
export type StartedAlerting = {
  /** The running service: its configuration, ops URL, and `stop` (the SIGTERM path). */
  running: RunningService<AlertingSetup, BuiltAlerting>;
  /** Where POST /alertmanager listens. */
  httpUrl(): string;
  dispatcher: AlertingService['dispatcher'];
  /** What /metrics serves. */
  registry: Registry;
};

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
 * and WeCom receivers, and alerting services started in-process on demand, as production builds
 * them (src/compose.ts through the service kernel, configured by the environment and a routes file
 * the world writes, under the service's own database account).
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
  const dir = await mkdtemp(join(tmpdir(), 'paysync-alerting-'));
  const file = async (name: string, content: string) => {
    await writeFile(join(dir, name), content, { mode: 0o600 });
    return join(dir, name);
  };
  const env: Record<string, string> = {
    ...FAST_ENV,
    MYSQL_URL: account.url,
    KAFKA_BROKERS: testEnv().kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    ALERTING_GROUP_ID: `${prefix}-alerting`,
    ALERTING_ROUTES_FILE: await file('routes.yaml', routesYaml(opts.extraChannels, opts.extraRoutes)),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // The secrets the routes file names.
    TEST_SMTP_URL: `smtp://${SMTP_USER}:${smtpPass}@${smtp.host}:${smtp.port}`,
    TEST_DINGTALK_URL: dingtalk.url,
    TEST_DINGTALK_SECRET: dingtalkSecret,
    TEST_WECOM_URL: wecom.url,
    ...(opts.env ?? {}),
  };
  const services = new Set<StartedAlerting>();

  const world = {
    db,
    pool,
    topics,
    kafka,
    smtp,
    dingtalk,
    wecom,
    /** Writes a file (a secret) into the world's directory; its path, for a `*_FILE` variable. */
    file,

    /**
     * Starts an alerting service in this process (stopped by `close` if the test does not). `more`
     * adds to or overrides the world's environment: another ALERTING_GROUP_ID, a MYSQL_URL…
     */
    async startService(more: Record<string, string> = {}): Promise<StartedAlerting> {
      const running = await startService(alertingService, { env: { ...env, ...more } });
      const { alerting } = running.service.parts;
      const started: StartedAlerting = {
        running,
        httpUrl: () => alerting.httpUrl(),
        dispatcher: alerting.dispatcher,
        registry: running.service.registry,
      };
      services.add(started);
      return started;
    },

    /** Stops it as SIGTERM does; every stop step must succeed. */
    async stopService(service: StartedAlerting): Promise<void> {
      services.delete(service);
      const code = await service.running.stop('test finished');
      if (code !== EXIT_CODES.ok) throw new Error(`alerting stopped with exit code ${code}`);
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
      for (const s of services) await s.running.stop('test finished');
      await producer.disconnect().catch(() => {});
      await smtp.close();
      await dingtalk.close();
      await wecom.close();
      await rm(dir, { recursive: true, force: true });
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
