import {
  ConfigError,
  durationMsFromEnv,
  intFromEnv,
  isProductionMode,
  loadConfig,
  modeEnvShape,
  mysqlEnvShape,
  resolveMysqlUrl,
  secretContext,
} from '@paysync/config';
import { kafkaEnvShape } from '@paysync/kafka';
import { sandboxSettingIssues, wechatPayEnvShape } from '@paysync/wechatpay';
import { z } from 'zod';

// payctl reads the same variables as the services (one Secret/ConfigMap serves all), and only
// those a command needs: `migrate` runs without WeChat Pay keys, `check-notify-url` without a database.

export const modeEnv = z.object(modeEnvShape);

export const dbEnv = z.object({
  ...modeEnvShape,
  ...mysqlEnvShape(
    'MySQL/MariaDB URL of the paysync database (payctl’s account; `migrate` runs as the migrate account).',
  ),
});

/** MYSQL_URL with the password of MYSQL_PASSWORD_FILE; a password inside MYSQL_URL is refused in production mode. */
export function databaseUrl(env: Record<string, string | undefined>): string {
  const parsed = load(dbEnv, env);
  const secret = secretContext(parsed);
  const url = resolveMysqlUrl(parsed, secret);
  if (secret.issues.length > 0) throw new ConfigError('payctl', secret.issues);
  return url;
}

/** The WeChat Pay settings, sandbox-only ones refused in production mode as the services refuse them. */
export function wechatSettings(env: Record<string, string | undefined>): z.output<typeof wechatEnv> {
  const parsed = load(wechatEnv, env);
  const issues = sandboxSettingIssues(parsed, isProductionMode(load(modeEnv, env)));
  if (issues.length > 0) throw new ConfigError('payctl', issues);
  return parsed;
}

export const grantsEnv = z.object({
  PAYCTL_DB_PASSWORDS_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      '`migrate --grants`: directory with one file per component (`receiver`, `orders`, `ledger`, `reconciler`, `operator`, `alerting`, `payctl`, `migrate`) holding that database user’s password.',
    ),
  PAYCTL_DB_USER_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,40}$/)
    .default('paysync_')
    .describe('`migrate --grants`: every component’s database user is this prefix and the component’s name.'),
  PAYCTL_DB_USER_HOST: z
    .string()
    .regex(/^[A-Za-z0-9_.%:-]{1,255}$/)
    .default('%')
    .describe('`migrate --grants`: the host part of every component’s database account.'),
});

export const kafkaEnv = z.object({
  ...kafkaEnvShape,
});

export const wechatEnv = z.object(wechatPayEnvShape);

export const syncEnv = z.object({
  PAYCTL_QPS: intFromEnv({ min: 1, max: 1000 })
    .default(20)
    .describe('WeChat Pay calls per second of sync/repair (leave room for the sweep); --qps overrides.'),
  PAYCTL_CONCURRENCY: intFromEnv({ min: 1, max: 64 })
    .default(4)
    .describe('Orders synced at once; --concurrency overrides.'),
  PAYCTL_LEDGER_WAIT: durationMsFromEnv
    .default(15_000)
    .describe(
      'How long sync/repair/replay wait for the ledger to apply what they published (for the audit after-state).',
    ),
});

export const notifyEnv = z.object({
  WECHATPAY_NOTIFY_URL: z
    .string()
    .min(1)
    .optional()
    .describe('The notify URL check-notify-url checks by default.'),
});

export function load<S extends z.ZodObject<z.ZodRawShape>>(
  schema: S,
  env: Record<string, string | undefined>,
): z.output<S> {
  return loadConfig('payctl', schema, env);
}

/** Every variable payctl reads, for the README. */
export const ALL_ENV = [dbEnv, grantsEnv, kafkaEnv, wechatEnv, syncEnv, notifyEnv];
