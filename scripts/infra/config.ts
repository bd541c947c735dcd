import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfraError } from './errors.ts';

/** The checkout this script belongs to, and its git-ignored cache. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CACHE = join(ROOT, '.cache');

/**
 * The Kafka topics of DESIGN.md. packages/contracts exports the same names (TOPICS); scripts may not
 * deep-import a package and must run before `npm ci`, so the list is kept here too and a test checks
 * that both agree.
 */
export const KAFKA_TOPICS = [
  'paysync.payment-observations.v1',
  'paysync.order-settled.v1',
  'paysync.alerts.v1',
  'paysync.payment-observations.dlq.v1',
] as const;

export const HOST = '127.0.0.1';

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new InfraError('BAD_CONFIG', `${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return n;
}

// Default ports sit below Linux's ephemeral range (32768–60999), so an outgoing connection's local
// port can never be holding one of them when a server (re)starts.
export type Config = {
  mysqlPort: number;
  kafkaPort: number;
  kafkaControllerPort: number;
  /** Kafka's SASL_PLAINTEXT (SCRAM) listener, where ACLs apply (the PLAINTEXT listener is a super user). */
  kafkaSaslPort: number;
  /** Kafka's SASL_SSL listener: SCRAM over TLS, with a certificate of the local CA (scripts/infra/tls.ts). */
  kafkaSslPort: number;
  kafkaPartitions: number;
};

export function loadConfig(): Config {
  const kafkaPort = intFromEnv('PAYSYNC_KAFKA_PORT', 29092, 1024, 65535);
  const config = {
    mysqlPort: intFromEnv('PAYSYNC_MYSQL_PORT', 23306, 1024, 65535),
    kafkaPort,
    kafkaControllerPort: intFromEnv('PAYSYNC_KAFKA_CONTROLLER_PORT', 29093, 1024, 65535),
    // Next to the other two Kafka ports by default, so a checkout with its own ports needs no third one.
    kafkaSaslPort: intFromEnv('PAYSYNC_KAFKA_SASL_PORT', Math.min(kafkaPort + 2, 65535), 1024, 65535),
    kafkaSslPort: intFromEnv('PAYSYNC_KAFKA_SSL_PORT', Math.min(kafkaPort + 3, 65535), 1024, 65535),
    kafkaPartitions: intFromEnv('PAYSYNC_KAFKA_PARTITIONS', 6, 1, 1000),
  };
  const ports = [
    config.mysqlPort,
    config.kafkaPort,
    config.kafkaControllerPort,
    config.kafkaSaslPort,
    config.kafkaSslPort,
  ];
  if (new Set(ports).size !== ports.length) {
    throw new InfraError(
      'BAD_CONFIG',
      `the MariaDB, Kafka, Kafka controller, Kafka SASL and Kafka SSL ports must differ: ${ports.join(', ')}`,
    );
  }
  return config;
}

/** Where everything lives under the cache. */
export const PATHS = {
  bin: join(CACHE, 'bin'),
  logs: join(CACHE, 'logs'),
  run: join(CACHE, 'run'),
  lock: join(CACHE, 'run', 'infra.lock'),
  mariadbData: join(CACHE, 'data', 'mariadb'),
  kafkaData: join(CACHE, 'data', 'kafka'),
  /** The local CA and the broker's certificate for the SASL_SSL listener. */
  kafkaTls: join(CACHE, 'data', 'kafka-tls'),
  kafkaHome: join(CACHE, 'kafka'),
  m2: join(CACHE, 'm2'),
  go: join(CACHE, 'go'),
  kafkaPom: join(ROOT, 'scripts', 'kafka', 'pom.xml'),
} as const;

/** The Kafka version comes from the pom that resolves its jars, so it is written down once. */
export function kafkaVersion(): string {
  const pom = readFileSync(PATHS.kafkaPom, 'utf8');
  const m = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom);
  if (!m?.[1]) throw new InfraError('BAD_CONFIG', `no <kafka.version> in ${PATHS.kafkaPom}`);
  return m[1].trim();
}

export function connectionEnv(config: Config): {
  MYSQL_URL: string;
  KAFKA_BROKERS: string;
  PAYSYNC_KAFKA_SASL_BROKERS: string;
  PAYSYNC_KAFKA_SSL_BROKERS: string;
  PAYSYNC_KAFKA_SSL_CA_FILE: string;
} {
  return {
    MYSQL_URL: `mysql://paysync:paysync@${HOST}:${config.mysqlPort}/paysync`,
    KAFKA_BROKERS: `${HOST}:${config.kafkaPort}`,
    // The SASL_PLAINTEXT/SCRAM listener of the same broker, for the Kafka ACL tests.
    PAYSYNC_KAFKA_SASL_BROKERS: `${HOST}:${config.kafkaSaslPort}`,
    // The SASL_SSL listener (SCRAM over TLS) and the CA that signed its certificate, for the TLS tests.
    PAYSYNC_KAFKA_SSL_BROKERS: `${HOST}:${config.kafkaSslPort}`,
    PAYSYNC_KAFKA_SSL_CA_FILE: join(PATHS.kafkaTls, 'ca.pem'),
  };
}

/** A path relative to the checkout, for messages. */
export function rel(path: string): string {
  return path.startsWith(`${ROOT}/`) ? path.slice(ROOT.length + 1) : path;
}
