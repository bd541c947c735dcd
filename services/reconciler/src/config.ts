import {
  boolFromEnv,
  ConfigError,
  type ConfigIssue,
  durationMsFromEnv,
  intFromEnv,
  listFromEnv,
  loadConfig,
  logLevelFromEnv,
  mysqlEnvShape,
  nodeEnvFromEnv,
  resolveMysqlUrl,
  secretContext,
} from '@paysync/config';
import { type KafkaSecurity, kafkaEnvShape, readKafkaSecurity } from '@paysync/kafka';
import { type BackoffPolicy, parseShard, type Shard, type SyncPolicy } from '@paysync/reconcile';
import {
  readWeChatPaySecrets,
  sandboxSettingIssues,
  type WeChatPaySecrets,
  wechatPayEnvShape,
} from '@paysync/wechatpay';
import { z } from 'zod';
import { billEnvShape } from './bill-config.ts';

const durationList = listFromEnv.pipe(
  z.array(durationMsFromEnv).min(1, { message: 'expected a comma-separated list such as 1m,2m,5m' }),
);

export const reconcilerEnv = z.object({
  NODE_ENV: nodeEnvFromEnv
    .optional()
    .describe('production refuses local-only settings (insecure notify URL probe).'),
  PAYSYNC_MODE: z
    .enum(['production', 'development'])
    .optional()
    .describe('production (same as NODE_ENV=production) or development. Default development.'),
  ...mysqlEnvShape(
    'MySQL/MariaDB URL of the paysync database (the reconciler’s account: see packages/db grants).',
  ),
  ...kafkaEnvShape,
  LOG_LEVEL: logLevelFromEnv.default('info').describe('pino log level.'),
  ...wechatPayEnvShape,
  WECHATPAY_NOTIFY_URL: z
    .string()
    .min(1)
    .optional()
    .describe('The public notify URL registered with WeChat Pay; probed every run. Required in production.'),

  RECONCILER_SHARD: z
    .string()
    .default('0/1')
    .describe('This run’s slice of the orders, i/n by CRC32(out_trade_no); --shard overrides it.'),
  RECONCILER_QPS: intFromEnv({ min: 1, max: 10_000 })
    .default(100)
    .describe(
      'WeChat Pay calls per second (query and close) this run may make; halved for a while after a 429.',
    ),
  RECONCILER_CONCURRENCY: intFromEnv({ min: 1, max: 1000 }).default(16).describe('Orders synced at once.'),
  RECONCILER_PAGE_SIZE: intFromEnv({ min: 1, max: 10_000 }).default(500).describe('Orders claimed per page.'),
  RECONCILER_TIME_BUDGET: durationMsFromEnv
    .default(4 * 60_000)
    .describe('The run stops taking orders after this long (keep it under the CronJob interval).'),
  RECONCILER_CLAIM_LEASE: durationMsFromEnv
    .default(10 * 60_000)
    .describe('How far a claimed page’s next_check_at is pushed; a crashed run’s orders come back after it.'),
  RECONCILER_BACKOFF: durationList
    .default([60_000, 120_000, 300_000, 600_000, 1_800_000])
    .describe('Delay after the 1st, 2nd, … check of an order (never past time_expire while payable).'),
  RECONCILER_BACKOFF_THEN: durationMsFromEnv
    .default(3_600_000)
    .describe('Delay after the checks listed above.'),
  RECONCILER_USERPAYING_RECHECK: durationMsFromEnv
    .default(30_000)
    .describe('Next check of an order WeChat reports USERPAYING.'),
  RECONCILER_ERROR_RETRY: durationMsFromEnv
    .default(60_000)
    .describe('Next check after a failed WeChat call (not counted as a check).'),
  RECONCILER_USERPAYING_GRACE: durationMsFromEnv
    .default(5 * 60_000)
    .describe('A USERPAYING order past time_expire is closed only this much later.'),
  RECONCILER_MISSED_NOTIFICATION_AFTER: durationMsFromEnv
    .default(2 * 60_000)
    .describe(
      'A SUCCESS paid longer ago than this that no notification settled counts as a missed notification.',
    ),
  RECONCILER_ATTENTION_AFTER_EXPIRY: durationMsFromEnv
    .default(60 * 60_000)
    .describe('An order still pending this long after time_expire raises order_needs_attention.'),
  RECONCILER_RATE_LIMIT_RETRIES: intFromEnv({ min: 0, max: 10 })
    .default(3)
    .describe('429s retried per call (after slowing down) before the check counts as an error.'),
  RECONCILER_REFUND_LIMIT: intFromEnv({ min: 0, max: 100_000 })
    .default(1000)
    .describe(
      'Refunds under way driven per run (shard 0 only): creates sent again until WeChat answers, then queried until final. 0 turns the refund sweep off.',
    ),
  RECONCILER_NOTIFY_PROBE: boolFromEnv.default(true).describe('Probe WECHATPAY_NOTIFY_URL every run.'),
  RECONCILER_NOTIFY_PROBE_URL: z
    .url()
    .optional()
    .describe('Send the probe here instead of the notify URL (same route, another address).'),
  RECONCILER_NOTIFY_PROBE_TIMEOUT: durationMsFromEnv
    .default(5000)
    .describe('Timeout of the notify URL probe.'),
  RECONCILER_NOTIFY_URL_ALLOW_INSECURE: boolFromEnv
    .default(false)
    .describe(
      'Skip WeChat’s rules (https, public host) for the probed URL: local sandboxes only; refused in production.',
    ),
  RECONCILER_PUSHGATEWAY_URL: z
    .url()
    .optional()
    .describe('Pushgateway the run metrics are pushed to; unset: not pushed.'),
  RECONCILER_PUSHGATEWAY_JOB: z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/)
    .default('paysync_reconciler')
    .describe('Pushgateway job name (grouped by shard).'),
  RECONCILER_PUSHGATEWAY_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
    .max(63)
    .optional()
    .describe(
      'Kubernetes namespace pushed as the group’s namespace label, so that releases sharing a Pushgateway keep apart and the alert rules find their run (the chart sets it); unset: no namespace label.',
    ),
  RECONCILER_DB_POOL_SIZE: intFromEnv({ min: 2, max: 100 }).default(6).describe('MySQL connections.'),
  ...billEnvShape,
});

export type ReconcilerEnv = z.output<typeof reconcilerEnv>;

export type ReconcilerConfig = ReconcilerEnv & {
  production: boolean;
  shard: Shard;
  policy: SyncPolicy;
  secrets: WeChatPaySecrets;
  kafkaSecurity: KafkaSecurity;
  /** Development conveniences a production start would refuse (logged at start-up). */
  warnings: ConfigIssue[];
};

export function syncPolicyOf(env: ReconcilerEnv): SyncPolicy {
  const backoff: BackoffPolicy = {
    stepsMs: env.RECONCILER_BACKOFF,
    thenEveryMs: env.RECONCILER_BACKOFF_THEN,
    userPayingMs: env.RECONCILER_USERPAYING_RECHECK,
    errorRetryMs: env.RECONCILER_ERROR_RETRY,
  };
  return {
    backoff,
    missedNotificationAfterMs: env.RECONCILER_MISSED_NOTIFICATION_AFTER,
    attentionAfterExpiryMs: env.RECONCILER_ATTENTION_AFTER_EXPIRY,
    userPayingGraceMs: env.RECONCILER_USERPAYING_GRACE,
    rateLimitRetries: env.RECONCILER_RATE_LIMIT_RETRIES,
  };
}

/** Reads and checks the environment (and the key files it names); every problem reported at once. */
export function loadReconcilerConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: { shard?: string | undefined } = {},
): ReconcilerConfig {
  const parsed = loadConfig('reconciler', reconcilerEnv, env);
  const secret = secretContext(parsed);
  const production = secret.production;
  const MYSQL_URL = resolveMysqlUrl(parsed, secret);
  const issues: ConfigIssue[] = [...secret.issues];
  let shard: Shard = { index: 0, count: 1 };
  try {
    shard = parseShard(overrides.shard ?? parsed.RECONCILER_SHARD);
  } catch (err) {
    issues.push({
      variable: overrides.shard ? '--shard' : 'RECONCILER_SHARD',
      message: (err as Error).message,
    });
  }
  if (production && parsed.RECONCILER_NOTIFY_URL_ALLOW_INSECURE) {
    issues.push({
      variable: 'RECONCILER_NOTIFY_URL_ALLOW_INSECURE',
      message: 'local-only setting; unset it in production',
    });
  }
  issues.push(...sandboxSettingIssues(parsed, production));
  if (production && parsed.RECONCILER_NOTIFY_PROBE && parsed.WECHATPAY_NOTIFY_URL === undefined) {
    issues.push({
      variable: 'WECHATPAY_NOTIFY_URL',
      message: 'is required in production (the notify URL probe)',
    });
  }
  if (parsed.RECONCILER_CLAIM_LEASE <= parsed.RECONCILER_TIME_BUDGET) {
    issues.push({
      variable: 'RECONCILER_CLAIM_LEASE',
      message: 'must be longer than RECONCILER_TIME_BUDGET, or a slow page could be claimed by the next run',
    });
  }
  const secrets = readWeChatPaySecrets(parsed, issues);
  const kafkaSecurity = readKafkaSecurity(parsed, issues, env);
  if (issues.length > 0 || secrets === undefined) throw new ConfigError('reconciler', issues);
  return {
    ...parsed,
    MYSQL_URL,
    production,
    shard,
    policy: syncPolicyOf(parsed),
    secrets,
    kafkaSecurity,
    warnings: secret.warnings,
  };
}
