import { readFileSync } from 'node:fs';
import {
  ConfigError,
  type ConfigIssue,
  durationMsFromEnv,
  intFromEnv,
  loadConfig,
  logLevelFromEnv,
  modeEnvShape,
  mysqlEnvShape,
  portFromEnv,
  resolveMysqlUrl,
  secretContext,
} from '@paysync/config';
import { type KafkaSecurity, kafkaEnvShape, loadKafkaSecurity } from '@paysync/kafka';
import { z } from 'zod';
import { DEFAULT_RUNBOOK_BASE_URL } from './runbooks.ts';

export const alertingEnv = z.object({
  ...modeEnvShape,
  ...mysqlEnvShape(
    'MySQL/MariaDB URL of the paysync database (the alerting account: alert_deliveries only).',
  ),
  ...kafkaEnvShape,
  ALERTING_GROUP_ID: z.string().min(1).default('paysync-alerting').describe('Kafka consumer group.'),
  ALERTING_ROUTES_FILE: z.string().min(1).describe('Routes file (YAML or JSON): channels and routes.'),
  ALERTING_HOST: z.string().default('0.0.0.0').describe('Address of the Alertmanager webhook listener.'),
  ALERTING_PORT: portFromEnv.default(8080).describe('Port of POST /alertmanager.'),
  ALERTING_WEBHOOK_TOKEN_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'File holding the bearer token Alertmanager must send (http_config.authorization). Required in production mode; unset in development: no token.',
    ),
  ALERTING_RUNBOOK_BASE_URL: z
    .url()
    .default(DEFAULT_RUNBOOK_BASE_URL)
    .describe('Where docs/runbooks/ is published; domain alerts link <base><runbook>.md.'),
  ALERTING_POLL_INTERVAL: durationMsFromEnv
    .default(1000)
    .describe('How often due deliveries are looked for.'),
  ALERTING_BATCH_MAX: intFromEnv({ min: 1, max: 50 })
    .default(10)
    .describe('Deliveries due together on one channel that share one message (channels may override).'),
  ALERTING_RETRY_BASE: durationMsFromEnv.default(5000).describe('First retry delay; doubles per attempt.'),
  ALERTING_RETRY_MAX: durationMsFromEnv.default(5 * 60_000).describe('Longest retry delay.'),
  ALERTING_DELIVERY_MAX_AGE: durationMsFromEnv
    .default(24 * 3_600_000)
    .describe(
      'A delivery not sent this long after it was queued is given up; older domain alerts are skipped.',
    ),
  ALERTING_SEND_TIMEOUT: durationMsFromEnv.default(10_000).describe('Time one message may take.'),
  ALERTING_BREAKER_ERROR_PERCENTAGE: intFromEnv({ min: 1, max: 100 })
    .default(50)
    .describe('Failure percentage that opens a channel’s breaker.'),
  ALERTING_BREAKER_VOLUME_THRESHOLD: intFromEnv({ min: 1, max: 1000 })
    .default(3)
    .describe('Messages in the window before a breaker may open.'),
  ALERTING_BREAKER_WINDOW: durationMsFromEnv
    .default(60_000)
    .describe('Rolling window of the breaker statistics.'),
  ALERTING_BREAKER_RESET_TIMEOUT: durationMsFromEnv
    .default(30_000)
    .describe('How long an open breaker waits before one trial message.'),
  ALERTING_DB_POOL_SIZE: intFromEnv({ min: 2, max: 100 }).default(5).describe('MySQL connections.'),
  METRICS_PORT: portFromEnv.default(9464).describe('Port of /healthz, /readyz and /metrics.'),
  METRICS_HOST: z.string().default('0.0.0.0').describe('Address the ops server listens on.'),
  LOG_LEVEL: logLevelFromEnv.default('info').describe('pino log level.'),
});

export type AlertingEnv = z.output<typeof alertingEnv>;
export type AlertingConfig = AlertingEnv & {
  webhookToken: string | undefined;
  kafkaSecurity: KafkaSecurity;
  production: boolean;
  /** Development conveniences a production start would refuse (logged at start-up). */
  warnings: ConfigIssue[];
};

export function loadAlertingConfig(env: Record<string, string | undefined> = process.env): AlertingConfig {
  const parsed = loadConfig('alerting', alertingEnv, env);
  const secret = secretContext(parsed);
  const MYSQL_URL = resolveMysqlUrl(parsed, secret);
  if (secret.production && parsed.ALERTING_WEBHOOK_TOKEN_FILE === undefined) {
    secret.issues.push({
      variable: 'ALERTING_WEBHOOK_TOKEN_FILE',
      message: 'is required in production mode (anyone reaching the webhook could resolve a real alert)',
    });
  }
  if (secret.issues.length > 0) throw new ConfigError('alerting', secret.issues);
  let webhookToken: string | undefined;
  if (parsed.ALERTING_WEBHOOK_TOKEN_FILE) {
    try {
      webhookToken = readFileSync(parsed.ALERTING_WEBHOOK_TOKEN_FILE, 'utf8').trim();
    } catch (err) {
      throw new ConfigError('alerting', [
        {
          variable: 'ALERTING_WEBHOOK_TOKEN_FILE',
          message: `cannot be read (${(err as { code?: string }).code ?? 'error'})`,
        },
      ]);
    }
    if (!webhookToken) {
      throw new ConfigError('alerting', [{ variable: 'ALERTING_WEBHOOK_TOKEN_FILE', message: 'is empty' }]);
    }
  }
  if (parsed.ALERTING_RETRY_MAX < parsed.ALERTING_RETRY_BASE) {
    throw new ConfigError('alerting', [
      { variable: 'ALERTING_RETRY_MAX', message: 'must not be shorter than ALERTING_RETRY_BASE' },
    ]);
  }
  const kafkaSecurity = loadKafkaSecurity('alerting', parsed, env);
  return {
    ...parsed,
    MYSQL_URL,
    webhookToken,
    kafkaSecurity,
    production: secret.production,
    warnings: secret.warnings,
  };
}
