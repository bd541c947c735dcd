// Configuration of the local stack: `npm start`, the demo, the whole-stack fault suite and the
// end-to-end benchmark all build it from here.
import { join } from 'node:path';
import {
  brokerListFromEnv,
  ConfigError,
  durationMsFromEnv,
  intFromEnv,
  loadConfig,
  logLevelFromEnv,
  mysqlUrlFromEnv,
} from '@paysync/config';
import { z } from 'zod';
import { CACHE, ROOT } from '../infra/config.ts';
import { StackError } from './errors.ts';

export { ROOT };

/** Where `npm start` keeps its generated configuration, secrets, logs and data (wiped at each start). */
export const STACK_DIR = join(CACHE, 'run', 'stack');
/** Prometheus, Alertmanager, Pushgateway: linked here by `scripts/infra.ts tools`. */
export const BIN_DIR = join(CACHE, 'bin');

export const startEnv = z.object({
  MYSQL_URL: mysqlUrlFromEnv.describe(
    'MariaDB/MySQL database of the stack; `npm start` sets it to the local server (`npm run infra -- env`).',
  ),
  KAFKA_BROKERS: brokerListFromEnv.describe(
    'Kafka bootstrap brokers; `npm start` sets it to the local broker.',
  ),
  PAYSYNC_PORT_BASE: intFromEnv({ min: 1024, max: 65_000 })
    .default(28_000)
    .describe(
      'First of the stack’s loopback ports: gateway = base+80, order service = base+85, sandbox = base+90, Prometheus = base+95 …',
    ),
  PAYSYNC_SWEEP_EVERY: durationMsFromEnv
    .pipe(z.number().int().min(2000).max(3_600_000))
    .default(15_000)
    .describe('How often the reconciler sweep runs (the CronJob schedule in Kubernetes).'),
  PAYSYNC_SANDBOX_TIME_SCALE: z.coerce
    .number()
    .positive()
    .max(1)
    .default(0.01)
    .describe(
      'Factor on WeChat Pay’s notification retry schedule in the sandbox (0.01: 15 s becomes 150 ms).',
    ),
  PAYSYNC_LOG_LEVEL: logLevelFromEnv.default('info').describe('Log level of every paysync service.'),
});

export type StartEnv = z.output<typeof startEnv>;

export function loadStartEnv(env: Record<string, string | undefined> = process.env): StartEnv {
  try {
    return loadConfig('npm start', startEnv, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new StackError('CONFIG_INVALID', err.message);
    throw err;
  }
}

/** Every loopback port of the stack. */
export type Ports = {
  /** The public notification receiver (GATEWAY_ROLE=receiver): the notify URL. */
  gateway: number;
  gatewayOps: number;
  /** The private order service (GATEWAY_ROLE=orders): the order API. */
  orders: number;
  ordersOps: number;
  ledgerOps: number;
  alerting: number;
  alertingOps: number;
  sandbox: number;
  smtp: number;
  robots: number;
  pushgateway: number;
  alertmanager: number;
  prometheus: number;
};

/** Fixed offsets from one base, so the addresses printed at start are the same every day. */
export function portsFrom(base: number): Ports {
  return {
    smtp: base + 25,
    robots: base + 26,
    gateway: base + 80,
    gatewayOps: base + 81,
    ledgerOps: base + 82,
    alerting: base + 83,
    alertingOps: base + 84,
    orders: base + 85,
    ordersOps: base + 86,
    sandbox: base + 90,
    pushgateway: base + 91,
    alertmanager: base + 93,
    prometheus: base + 95,
  };
}

export const HOST = '127.0.0.1';
export const CALLBACK_PATH = '/api/payment/wechat/callback';

/** The composition roots the stack runs (Node 24 runs the TypeScript sources as they are). */
export const MAINS = {
  sandbox: join(ROOT, 'packages/wechatpay-sandbox/src/bin.ts'),
  gateway: join(ROOT, 'services/callback-gateway/src/main.ts'),
  ledger: join(ROOT, 'services/points-ledger/src/main.ts'),
  alerting: join(ROOT, 'services/alerting/src/main.ts'),
  reconciler: join(ROOT, 'services/reconciler/src/main.ts'),
  payctl: join(ROOT, 'packages/cli/src/bin.ts'),
} as const;

/** The monitoring files shipped in the Helm chart, loaded as they are. */
export const MONITORING = {
  rules: join(ROOT, 'charts/paysync/files/monitoring/rules/paysync.rules.yaml'),
  alertmanagerExample: join(ROOT, 'charts/paysync/files/monitoring/alertmanager/alertmanager.example.yaml'),
  dashboard: join(ROOT, 'charts/paysync/files/monitoring/dashboards/paysync-overview.json'),
} as const;
