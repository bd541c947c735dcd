import { readFileSync } from 'node:fs';
import { boolFromEnv, brokerListFromEnv, ConfigError, type ConfigIssue } from '@paysync/config';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { z } from 'zod';

// How every paysync process (services, the operator, payctl, scripts) authenticates to Kafka: one
// set of variables, spread into each process's schema, resolved by `loadKafkaSecurity`. Secrets come
// from files only; errors name the variable, never a value or a file's content.

export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SASL_PLAINTEXT', 'SASL_SSL', 'SSL'] as const;
export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number];

const path = z.string().min(1);

export const kafkaSecurityEnvShape = {
  KAFKA_SECURITY_PROTOCOL: z
    .enum(KAFKA_SECURITY_PROTOCOLS)
    .default('PLAINTEXT')
    .describe(
      'How to reach Kafka: PLAINTEXT, SASL_PLAINTEXT, SASL_SSL or SSL. In production mode PLAINTEXT is refused unless KAFKA_ALLOW_PLAINTEXT=true.',
    ),
  KAFKA_ALLOW_PLAINTEXT: boolFromEnv
    .default(false)
    .describe(
      'Accept KAFKA_SECURITY_PROTOCOL=PLAINTEXT (no authentication, no ACL principal) in production mode: only for a broker that is reachable through an authenticated network path of its own.',
    ),
  KAFKA_SASL_MECHANISM: z
    .enum(['scram-sha-256', 'scram-sha-512'])
    .default('scram-sha-512')
    .describe('SASL mechanism for SASL_PLAINTEXT and SASL_SSL.'),
  KAFKA_SASL_USERNAME: z
    .string()
    .min(1)
    .optional()
    .describe('SASL user (the ACL principal User:<name>); required with SASL_PLAINTEXT and SASL_SSL.'),
  KAFKA_SASL_PASSWORD_FILE: path
    .optional()
    .describe('Path of the file holding the SASL password; required with SASL_PLAINTEXT and SASL_SSL.'),
  KAFKA_SSL_CA_FILE: path
    .optional()
    .describe(
      "PEM file of the CA that signed the brokers' certificates (SSL, SASL_SSL); without it the system's CAs are trusted.",
    ),
  KAFKA_SSL_CERT_FILE: path
    .optional()
    .describe('PEM client certificate for mutual TLS (SSL, SASL_SSL); goes with KAFKA_SSL_KEY_FILE.'),
  KAFKA_SSL_KEY_FILE: path.optional().describe('PEM private key of KAFKA_SSL_CERT_FILE for mutual TLS.'),
};

export const kafkaSecurityEnv = z.object(kafkaSecurityEnvShape);

/** Where every paysync process finds Kafka and its topics: brokers, authentication, topic prefix. */
export const kafkaEnvShape = {
  KAFKA_BROKERS: brokerListFromEnv.describe('Kafka bootstrap brokers, comma-separated host:port.'),
  ...kafkaSecurityEnvShape,
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,100}$/)
    .optional()
    .describe(
      'Prefix for every paysync topic (<prefix>.paysync.…), for clusters shared by several environments.',
    ),
};
export type KafkaSecurityEnv = z.output<typeof kafkaSecurityEnv>;

/** What `createKafka` takes besides brokers and client id. */
export type KafkaSecurity = { ssl?: KafkaConfig['ssl']; sasl?: SASLOptions };

function readFile(variable: string, file: string, issues: ConfigIssue[]): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    if (text === '') issues.push({ variable, message: `${file} is empty` });
    return text;
  } catch (err) {
    issues.push({
      variable,
      message: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    });
    return undefined;
  }
}

/** True when NODE_ENV or PAYSYNC_MODE says production, as every process decides it. */
function productionMode(env: Record<string, string | undefined>): boolean {
  return env.NODE_ENV === 'production' || env.PAYSYNC_MODE === 'production';
}

/**
 * Checks the Kafka security settings for consistency and reads the files they name, appending
 * every problem to `issues`. `env` is the raw environment, read for the production mode only.
 */
export function readKafkaSecurity(
  settings: KafkaSecurityEnv,
  issues: ConfigIssue[],
  env: Record<string, string | undefined> = process.env,
): KafkaSecurity {
  const protocol = settings.KAFKA_SECURITY_PROTOCOL;
  const sasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
  const tls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const out: KafkaSecurity = {};
  if (protocol === 'PLAINTEXT' && productionMode(env) && !settings.KAFKA_ALLOW_PLAINTEXT) {
    issues.push({
      variable: 'KAFKA_SECURITY_PROTOCOL',
      message:
        'PLAINTEXT (no authentication) is refused in production mode: use SASL_SSL (or SASL_PLAINTEXT/SSL), or set KAFKA_ALLOW_PLAINTEXT=true to accept it',
    });
  }
  const saslOnly = ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD_FILE'] as const;
  const tlsOnly = ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const;
  for (const variable of sasl ? [] : saslOnly) {
    if (settings[variable] !== undefined)
      issues.push({ variable, message: `is only used with SASL_PLAINTEXT or SASL_SSL, not ${protocol}` });
  }
  for (const variable of tls ? [] : tlsOnly) {
    if (settings[variable] !== undefined)
      issues.push({ variable, message: `is only used with SSL or SASL_SSL, not ${protocol}` });
  }
  if (sasl) {
    const username = settings.KAFKA_SASL_USERNAME;
    const passwordFile = settings.KAFKA_SASL_PASSWORD_FILE;
    if (username === undefined)
      issues.push({ variable: 'KAFKA_SASL_USERNAME', message: `is required with ${protocol}` });
    if (passwordFile === undefined)
      issues.push({ variable: 'KAFKA_SASL_PASSWORD_FILE', message: `is required with ${protocol}` });
    const password =
      passwordFile === undefined ? undefined : readFile('KAFKA_SASL_PASSWORD_FILE', passwordFile, issues);
    if (username !== undefined && password !== undefined) {
      out.sasl = { mechanism: settings.KAFKA_SASL_MECHANISM, username, password };
    }
  }
  if (tls) {
    const {
      KAFKA_SSL_CA_FILE: caFile,
      KAFKA_SSL_CERT_FILE: certFile,
      KAFKA_SSL_KEY_FILE: keyFile,
    } = settings;
    if ((certFile === undefined) !== (keyFile === undefined)) {
      issues.push({
        variable: certFile === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE',
        message: 'KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together',
      });
    }
    const ca = caFile === undefined ? undefined : readFile('KAFKA_SSL_CA_FILE', caFile, issues);
    const cert = certFile === undefined ? undefined : readFile('KAFKA_SSL_CERT_FILE', certFile, issues);
    const key = keyFile === undefined ? undefined : readFile('KAFKA_SSL_KEY_FILE', keyFile, issues);
    out.ssl = {
      rejectUnauthorized: true,
      ...(ca !== undefined ? { ca: [ca] } : {}),
      ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
    };
  }
  return out;
}

/**
 * The Kafka security options of a process whose configuration (parsed with `kafkaSecurityEnvShape`
 * in its schema) is `settings`; throws a ConfigError naming every bad variable.
 */
export function loadKafkaSecurity(
  service: string,
  settings: KafkaSecurityEnv,
  env: Record<string, string | undefined> = process.env,
): KafkaSecurity {
  const issues: ConfigIssue[] = [];
  const security = readKafkaSecurity(settings, issues, env);
  if (issues.length > 0) throw new ConfigError(service, issues);
  return security;
}
