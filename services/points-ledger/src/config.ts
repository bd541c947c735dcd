import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfigError,
  type ConfigIssue,
  intFromEnv,
  loadConfig,
  logLevelFromEnv,
  modeEnvShape,
  mysqlEnvShape,
  portFromEnv,
  resolveMysqlUrl,
  secretContext,
} from '@paysync/config';
import { type KafkaSecurity, kafkaEnvShape, readKafkaSecurity } from '@paysync/kafka';
import {
  apiV2SignTypeEnvShape,
  type PublicKeyConfig,
  readSecretFile,
  toPublicKey,
  type V2Key,
  wechatPayEnvShape,
} from '@paysync/wechatpay';
import { z } from 'zod';

export const ledgerEnv = z.object({
  ...modeEnvShape,
  ...mysqlEnvShape(
    'MySQL/MariaDB URL of the paysync database (the ledger’s account: see packages/db grants).',
  ),
  ...kafkaEnvShape,
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
  LEDGER_LOCK_WAIT_TIMEOUT_S: intFromEnv({ min: 1, max: 60 })
    .default(5)
    .describe(
      'Seconds a ledger statement waits for a row lock (innodb_lock_wait_timeout). Longer waits are not retried: the order is left for later and the rest of its partition settles.',
    ),
  LEDGER_DB_POOL_SIZE: intFromEnv({ min: 1, max: 100 })
    .default(5)
    .describe('MySQL connections of the ledger.'),
  LEDGER_PARTITIONS_CONCURRENTLY: intFromEnv({ min: 1, max: 64 })
    .default(3)
    .describe(
      'Partitions one ledger applies at the same time, each chunk in its own MySQL transaction (as that many replicas would; one partition stays in order). Below LEDGER_DB_POOL_SIZE: the outbox relay holds a connection of its own.',
    ),
  METRICS_PORT: portFromEnv.default(9464).describe('Port of /healthz, /readyz and /metrics.'),
  METRICS_HOST: z.string().default('0.0.0.0').describe('Address the ops server listens on.'),
  LOG_LEVEL: logLevelFromEnv.default('info').describe('pino log level.'),
  WECHATPAY_API_V3_KEY_FILE: wechatPayEnvShape.WECHATPAY_API_V3_KEY_FILE.describe(
    'Path of the 32-byte APIv3 key: decrypts the notifications and the archived platform certificates the ledger checks evidence with.',
  ),
  WECHATPAY_PUBLIC_KEY_ID: wechatPayEnvShape.WECHATPAY_PUBLIC_KEY_ID,
  WECHATPAY_PUBLIC_KEY_FILE: wechatPayEnvShape.WECHATPAY_PUBLIC_KEY_FILE,
  WECHATPAY_RETIRED_PUBLIC_KEYS_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Directory of retired WeChat Pay public keys, one PEM file per key named <PUB_KEY_ID_…>.pem: evidence signed before a key change still verifies.',
    ),
  WECHATPAY_API_V2_KEY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe('Path of the APIv2 key, to check APIv2 notifications; without it they are refused.'),
  ...apiV2SignTypeEnvShape,
});

export type LedgerEnv = z.output<typeof ledgerEnv>;

/** What the ledger checks evidence with. Platform certificates come from the archive in MySQL. */
export type EvidenceSecrets = {
  apiV3Key: string;
  publicKeys: PublicKeyConfig[];
  apiV2Key: V2Key | undefined;
};

export type LedgerConfig = LedgerEnv & {
  evidence: EvidenceSecrets;
  kafkaSecurity: KafkaSecurity;
  warnings: ConfigIssue[];
};

function publicKeyFrom(
  id: string,
  variable: string,
  path: string,
  issues: ConfigIssue[],
): PublicKeyConfig | undefined {
  const pem = readSecretFile(variable, path, issues);
  if (pem === undefined) return undefined;
  try {
    toPublicKey(pem);
    return { id, key: pem };
  } catch {
    issues.push({ variable, message: `${path} is not a readable public key (PEM)` });
    return undefined;
  }
}

/** Reads the environment and the key files it names; every problem at once, never a key's content. */
export function loadLedgerConfig(env: Record<string, string | undefined> = process.env): LedgerConfig {
  const parsed = loadConfig('points-ledger', ledgerEnv, env);
  const secret = secretContext(parsed);
  const MYSQL_URL = resolveMysqlUrl(parsed, secret);
  const issues: ConfigIssue[] = [...secret.issues];
  const apiV3Key = readSecretFile('WECHATPAY_API_V3_KEY_FILE', parsed.WECHATPAY_API_V3_KEY_FILE, issues);
  if (apiV3Key !== undefined && Buffer.byteLength(apiV3Key, 'utf8') !== 32) {
    issues.push({ variable: 'WECHATPAY_API_V3_KEY_FILE', message: 'the APIv3 key must be exactly 32 bytes' });
  }
  const publicKeys: PublicKeyConfig[] = [];
  if ((parsed.WECHATPAY_PUBLIC_KEY_ID === undefined) !== (parsed.WECHATPAY_PUBLIC_KEY_FILE === undefined)) {
    issues.push({
      variable: 'WECHATPAY_PUBLIC_KEY_ID',
      message: 'WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY_FILE go together',
    });
  } else if (parsed.WECHATPAY_PUBLIC_KEY_ID && parsed.WECHATPAY_PUBLIC_KEY_FILE) {
    const pk = publicKeyFrom(
      parsed.WECHATPAY_PUBLIC_KEY_ID,
      'WECHATPAY_PUBLIC_KEY_FILE',
      parsed.WECHATPAY_PUBLIC_KEY_FILE,
      issues,
    );
    if (pk) publicKeys.push(pk);
  }
  const dir = parsed.WECHATPAY_RETIRED_PUBLIC_KEYS_DIR;
  if (dir !== undefined) {
    try {
      for (const file of readdirSync(dir)
        .filter((f) => /^PUB_KEY_ID_\w+\.pem$/.test(f))
        .sort()) {
        const pk = publicKeyFrom(
          file.slice(0, -4),
          'WECHATPAY_RETIRED_PUBLIC_KEYS_DIR',
          join(dir, file),
          issues,
        );
        if (pk) publicKeys.push(pk);
      }
    } catch (err) {
      issues.push({
        variable: 'WECHATPAY_RETIRED_PUBLIC_KEYS_DIR',
        message: `cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      });
    }
  }
  const apiV2Key =
    parsed.WECHATPAY_API_V2_KEY_FILE === undefined
      ? undefined
      : readSecretFile('WECHATPAY_API_V2_KEY_FILE', parsed.WECHATPAY_API_V2_KEY_FILE, issues);
  if (apiV2Key === '')
    issues.push({ variable: 'WECHATPAY_API_V2_KEY_FILE', message: 'the APIv2 key file is empty' });
  // Between two heartbeats a chunk waits at most twice for a lock (the chunk, then its first
  // locked order alone): that must stay well inside the session, or the group rebalances.
  if (parsed.LEDGER_LOCK_WAIT_TIMEOUT_S * 1000 * 2 >= parsed.LEDGER_SESSION_TIMEOUT_MS) {
    issues.push({
      variable: 'LEDGER_LOCK_WAIT_TIMEOUT_S',
      message: `twice it must stay under LEDGER_SESSION_TIMEOUT_MS (${parsed.LEDGER_SESSION_TIMEOUT_MS} ms), so that waiting for locks never outlives the consumer's session`,
    });
  }
  // Each partition applied at the same time holds a connection through its transaction, and the
  // outbox relay holds one for its lock: with no connection left over, they would wait on each other.
  if (parsed.LEDGER_PARTITIONS_CONCURRENTLY >= parsed.LEDGER_DB_POOL_SIZE) {
    issues.push({
      variable: 'LEDGER_PARTITIONS_CONCURRENTLY',
      message: `it must stay under LEDGER_DB_POOL_SIZE (${parsed.LEDGER_DB_POOL_SIZE}): each partition applied at the same time holds a connection, and the outbox relay holds one`,
    });
  }
  const kafkaSecurity = readKafkaSecurity(parsed, issues, env);
  if (issues.length > 0 || apiV3Key === undefined) throw new ConfigError('points-ledger', issues);
  return {
    ...parsed,
    MYSQL_URL,
    evidence: {
      apiV3Key,
      publicKeys,
      apiV2Key: apiV2Key ? { key: apiV2Key, signType: parsed.WECHATPAY_API_V2_SIGN_TYPE } : undefined,
    },
    kafkaSecurity,
    warnings: secret.warnings,
  };
}
