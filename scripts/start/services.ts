// The paysync processes of the local stack and the environment each gets: the services' own
// configuration variables (their READMEs), tuned for a laptop — loopback addresses, a sandbox that
// retries quickly, a reconciler that checks within seconds instead of minutes.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StackAccount, StackAccountName } from './accounts.ts';
import { HOST, MAINS, type Ports, ROOT } from './config.ts';
import { StackError } from './errors.ts';
import type { JobSpec } from './job.ts';
import type { ProcessSpec } from './process.ts';
import type { StackSecrets } from './secrets.ts';

export type ServiceContext = {
  dir: string;
  ports: Ports;
  /** Each process's own database user (scripts/start/accounts.ts). */
  accounts: Partial<Record<StackAccountName, StackAccount>>;
  kafkaBrokers: readonly string[];
  topicPrefix: string | undefined;
  logLevel: string;
  secrets: StackSecrets;
  sandboxUrl: string;
  notifyUrl: string;
  /** Marks every process of this stack (found again in /proc after a crash of the supervisor). */
  marker: string;
};

export function main(name: keyof typeof MAINS): string {
  const path = MAINS[name];
  if (!existsSync(path)) {
    throw new StackError('MISSING_PART', `${path} is missing: the ${name} is not in this checkout yet`);
  }
  return path;
}

const url = (port: number) => `http://${HOST}:${port}`;

function account(ctx: ServiceContext, name: StackAccountName): StackAccount {
  const a = ctx.accounts[name];
  if (!a) throw new StackError('MISSING_PART', `no database user was created for the ${name}`);
  return a;
}

// Kafka is the local PLAINTEXT listener: no SASL principal per process locally (the principals and
// their ACLs are proven by test/integration/kafka-acls.test.ts and order-service-identity.test.ts).
function common(ctx: ServiceContext, db: StackAccountName): Record<string, string> {
  const a = account(ctx, db);
  return {
    PAYSYNC_STACK_DIR: ctx.marker,
    NODE_ENV: 'development',
    PAYSYNC_MODE: 'development',
    MYSQL_URL: a.url,
    MYSQL_PASSWORD_FILE: a.passwordFile,
    KAFKA_BROKERS: ctx.kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: ctx.topicPrefix ?? '',
    LOG_LEVEL: ctx.logLevel,
    METRICS_HOST: HOST,
  };
}

/** What the gateway, the reconciler and payctl need to call WeChat Pay (here: the sandbox). */
export function wechatEnv(ctx: ServiceContext): Record<string, string> {
  return {
    WECHATPAY_MCHID: ctx.secrets.merchant.mchid,
    WECHATPAY_MERCHANT_SERIAL_NO: ctx.secrets.merchant.certificateSerial,
    WECHATPAY_PRIVATE_KEY_FILE: ctx.secrets.files.privateKey,
    WECHATPAY_API_V3_KEY_FILE: ctx.secrets.files.apiV3Key,
    WECHATPAY_BASE_URLS: ctx.sandboxUrl,
    WECHATPAY_ALLOW_INSECURE_HTTP: 'true',
    WECHATPAY_NOTIFY_URL: ctx.notifyUrl,
  };
}

export function sandboxProcess(ctx: ServiceContext, timeScale: number): ProcessSpec {
  return {
    name: 'sandbox',
    command: process.execPath,
    args: [
      main('sandbox'),
      `--host=${HOST}`,
      `--port=${ctx.ports.sandbox}`,
      `--time-scale=${timeScale}`,
      `--merchants-file=${ctx.secrets.files.merchants}`,
    ],
    env: { PAYSYNC_STACK_DIR: ctx.marker },
    health: `${url(ctx.ports.sandbox)}/sandbox/healthz`,
  };
}

/**
 * The public notification receiver (GATEWAY_ROLE=receiver), as the chart's `gateway` Deployment:
 * the notify URL, the APIv3 key and no merchant private key nor API token; it verifies with the
 * platform certificates the order service archives.
 */
export function receiverProcess(ctx: ServiceContext, extra: Record<string, string> = {}): ProcessSpec {
  return {
    name: 'gateway',
    command: process.execPath,
    args: [main('gateway')],
    env: {
      ...common(ctx, 'receiver'),
      GATEWAY_ROLE: 'receiver',
      WECHATPAY_MCHID: ctx.secrets.merchant.mchid,
      WECHATPAY_APPID: ctx.secrets.merchant.appid,
      WECHATPAY_API_V3_KEY_FILE: ctx.secrets.files.apiV3Key,
      WECHATPAY_NOTIFY_URL: ctx.notifyUrl,
      GATEWAY_HOST: HOST,
      GATEWAY_PORT: String(ctx.ports.gateway),
      METRICS_PORT: String(ctx.ports.gatewayOps),
      GATEWAY_SHUTDOWN_GRACE: '3s',
      ...extra,
    },
    health: `${url(ctx.ports.gatewayOps)}/readyz`,
  };
}

/**
 * The private order service (GATEWAY_ROLE=orders), as the chart's `order-service` Deployment: the
 * order API with its token file, signing requests to WeChat Pay (here the sandbox).
 */
export function ordersProcess(ctx: ServiceContext, extra: Record<string, string> = {}): ProcessSpec {
  return {
    name: 'orders',
    command: process.execPath,
    args: [main('gateway')],
    env: {
      ...common(ctx, 'orders'),
      ...wechatEnv(ctx),
      GATEWAY_ROLE: 'orders',
      WECHATPAY_APPID: ctx.secrets.merchant.appid,
      GATEWAY_HOST: HOST,
      GATEWAY_PORT: String(ctx.ports.orders),
      METRICS_PORT: String(ctx.ports.ordersOps),
      GATEWAY_API_TOKEN_FILE: ctx.secrets.files.apiToken,
      // The reconciler looks at a new order after 10 s instead of a minute.
      GATEWAY_FIRST_CHECK_DELAY: '10s',
      GATEWAY_SHUTDOWN_GRACE: '3s',
      ...extra,
    },
    health: `${url(ctx.ports.ordersOps)}/readyz`,
  };
}

export function ledgerProcess(ctx: ServiceContext, extra: Record<string, string> = {}): ProcessSpec {
  return {
    name: 'ledger',
    command: process.execPath,
    args: [main('ledger')],
    env: {
      ...common(ctx, 'ledger'),
      // Decrypts notifications and the archived platform certificates the evidence is checked with.
      WECHATPAY_API_V3_KEY_FILE: ctx.secrets.files.apiV3Key,
      METRICS_PORT: String(ctx.ports.ledgerOps),
      LEDGER_GROUP_ID: ctx.topicPrefix ? `${ctx.topicPrefix}-points-ledger` : 'paysync-points-ledger',
      // A killed ledger's partitions go to its successor after 10 s rather than 30.
      LEDGER_SESSION_TIMEOUT_MS: '10000',
      LEDGER_LOCK_WAIT_TIMEOUT_S: '3',
      ...extra,
    },
    health: `${url(ctx.ports.ledgerOps)}/readyz`,
  };
}

/** The alerting routes of the local stack: the example's routing, with the local sinks as channels. */
export function alertingRoutes(dingtalkSecretFile: string): string {
  return `# Generated by npm start: the routing of services/alerting/routes.example.yaml, to local sinks.
defaults: { locale: zh+en, cooldown: 30m, sendResolved: true }
channels:
  local-email:
    type: email
    from: "paysync alerts <paysync-alerts@example.com>"
    to: [sre-oncall@example.com]
    smtp: { url: { env: LOCAL_SMTP_URL } }
    locale: en
  local-dingtalk:
    type: dingtalk
    url: { env: LOCAL_DINGTALK_URL }
    secret: { file: ${JSON.stringify(dingtalkSecretFile)} }
  local-wecom:
    type: wecom
    url: { env: LOCAL_WECOM_URL }
routes:
  - name: critical
    match: { severity: [critical] }
    channels: [local-email, local-dingtalk, local-wecom]
  - name: missed notifications
    match: { type: [missed_notification, PaysyncMissedNotifications, notify_url_unhealthy] }
    channels: [local-email, local-dingtalk]
    cooldown: 10m
  - name: warnings
    match: { severity: [warning] }
    channels: [local-wecom]
  - name: default
    channels: [local-email]
    cooldown: 2h
`;
}

export async function alertingProcess(
  ctx: ServiceContext,
  sinks: { smtpUrl: string; dingtalkUrl: string; wecomUrl: string },
): Promise<ProcessSpec> {
  const routes = join(ctx.dir, 'alerting-routes.yaml');
  await writeFile(routes, alertingRoutes(ctx.secrets.files.dingtalkSecret));
  return {
    name: 'alerting',
    command: process.execPath,
    args: [main('alerting')],
    env: {
      ...common(ctx, 'alerting'),
      METRICS_PORT: String(ctx.ports.alertingOps),
      ALERTING_HOST: HOST,
      ALERTING_PORT: String(ctx.ports.alerting),
      ALERTING_ROUTES_FILE: routes,
      ALERTING_GROUP_ID: ctx.topicPrefix ? `${ctx.topicPrefix}-alerting` : 'paysync-alerting',
      ALERTING_WEBHOOK_TOKEN_FILE: ctx.secrets.files.webhookToken,
      ALERTING_RUNBOOK_BASE_URL: `file://${join(ROOT, 'docs/runbooks')}/`,
      ALERTING_POLL_INTERVAL: '500ms',
      LOCAL_SMTP_URL: sinks.smtpUrl,
      LOCAL_DINGTALK_URL: sinks.dingtalkUrl,
      LOCAL_WECOM_URL: sinks.wecomUrl,
    },
    health: `${url(ctx.ports.alertingOps)}/readyz`,
  };
}

/** One reconciler sweep per run, on a schedule: the CronJob of the Helm chart. */
export function sweepJob(
  ctx: ServiceContext,
  opts: { everyMs: number; pushgatewayUrl: string | undefined; extra?: Record<string, string> },
): JobSpec {
  // The run stops taking orders before the next one is due; its claims outlast it.
  const budgetMs = Math.max(1000, Math.floor(opts.everyMs * 0.7));
  return {
    name: 'reconciler',
    command: process.execPath,
    args: [main('reconciler'), 'sweep'],
    env: {
      ...common(ctx, 'reconciler'),
      ...wechatEnv(ctx),
      // The probe goes to the loopback gateway: skip WeChat's https/public-host rules for it (the
      // gateway's own start-up check still reports the URL as unusable by the real WeChat Pay).
      RECONCILER_NOTIFY_URL_ALLOW_INSECURE: 'true',
      ...(opts.pushgatewayUrl ? { RECONCILER_PUSHGATEWAY_URL: opts.pushgatewayUrl } : {}),
      RECONCILER_TIME_BUDGET: `${budgetMs}ms`,
      RECONCILER_CLAIM_LEASE: `${budgetMs + 20_000}ms`,
      RECONCILER_BACKOFF: '10s,20s,30s,1m,2m',
      RECONCILER_BACKOFF_THEN: '5m',
      RECONCILER_ERROR_RETRY: '5s',
      RECONCILER_USERPAYING_RECHECK: '10s',
      // The sandbox retries a notification within ~3 s (time scale 0.01): a payment older than 5 s that
      // no notification settled is a missed one.
      RECONCILER_MISSED_NOTIFICATION_AFTER: '5s',
      RECONCILER_ATTENTION_AFTER_EXPIRY: '10m',
      RECONCILER_QPS: '50',
      ...opts.extra,
    },
    everyMs: opts.everyMs,
    deadlineMs: budgetMs + 30_000,
  };
}
