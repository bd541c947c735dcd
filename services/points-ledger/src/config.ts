import {
  brokerListFromEnv,
  intFromEnv,
  loadConfig,
  logLevelFromEnv,
  mysqlUrlFromEnv,
  portFromEnv,
} from '@paysync/config';
import { z } from 'zod';

export const ledgerEnv = z.object({
  MYSQL_URL: mysqlUrlFromEnv.describe('MySQL/MariaDB URL of the paysync database (read-write).'),
  KAFKA_BROKERS: brokerListFromEnv.describe('Kafka bootstrap brokers, comma-separated host:port.'),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,100}$/)
    .optional()
    .describe(
      'Prefix for every paysync topic (<prefix>.paysync.…), for clusters shared by several environments.',
    ),
  LEDGER_GROUP_ID: z
    .string()
    .min(1)
    .default('paysync-points-ledger')
    .describe('Kafka consumer group of the ledger.'),
  LEDGER_BATCH_SIZE: intFromEnv({ min: 1, max: 1000 })
    .default(100)
    .describe('Observations applied per MySQL transaction.'),
  LEDGER_SESSION_TIMEOUT_MS: intFromEnv({ min: 6000, max: 300_000 })
    .default(30_000)
    .describe(
      'Kafka consumer session timeout: how long a dead ledger holds its partitions before a rebalance.',
    ),
  LEDGER_DB_POOL_SIZE: intFromEnv({ min: 1, max: 100 })
    .default(5)
    .describe('MySQL connections of the ledger.'),
  METRICS_PORT: portFromEnv.default(9464).describe('Port of /healthz, /readyz and /metrics.'),
  METRICS_HOST: z.string().default('0.0.0.0').describe('Address the ops server listens on.'),
  LOG_LEVEL: logLevelFromEnv.default('info').describe('pino log level.'),
});

export type LedgerConfig = z.output<typeof ledgerEnv>;

export function loadLedgerConfig(env: Record<string, string | undefined> = process.env): LedgerConfig {
  return loadConfig('points-ledger', ledgerEnv, env);
}
