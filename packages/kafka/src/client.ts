import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  type Consumer,
  type ConsumerConfig,
  type ISocketFactory,
  Kafka,
  type KafkaConfig,
  type logCreator,
  logLevel,
  Partitioners,
  type Producer,
} from 'kafkajs';
import type { Logger } from 'pino';
import { BOUNDED_RETRIES_NOTICE, quietKafkajsNegativeTimer } from './quiet.ts';
import type { KafkaSecurity } from './security.ts';

export type KafkaClientOptions = {
  brokers: readonly string[];
  clientId: string;
  logger?: Logger;
  /** Time allowed to connect to a broker (default 3 s) and for a request (default 10 s). */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Passed through for SASL/TLS clusters (Strimzi, managed Kafka). */
  ssl?: KafkaConfig['ssl'];
  sasl?: KafkaConfig['sasl'];
};

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** Routes kafkajs's own log lines into the service's structured logger. */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      if (message === BOUNDED_RETRIES_NOTICE) return;
      logger[LEVELS[level] ?? 'info']({ kafkajs: extra }, message);
    };
}

/** Node's codes for a peer certificate that no trusted CA vouches for. */
const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/**
 * What a failed TLS handshake with a broker means for the operator, naming the setting to fix:
 * kafkajs reports only "Connection error: <Node's message>", which does not say where the trust
 * comes from. Other errors are left as they are.
 */
export function explainKafkaTlsError(err: Error & { code?: string }, host: string): void {
  if (err.code !== undefined && UNTRUSTED_CERTIFICATE.has(err.code)) {
    err.message = `the TLS certificate of the Kafka broker ${host} is not signed by a trusted CA (${err.code}: ${err.message}); KAFKA_SSL_CA_FILE must name the PEM file of the CA that signed the brokers' certificates (without it only the system's CAs are trusted)`;
  } else if (err.code === 'ERR_TLS_CERT_ALTNAME_INVALID' || err.code === 'CERT_HAS_EXPIRED') {
    err.message = `the TLS certificate of the Kafka broker ${host} was refused (${err.code}: ${err.message}); check the broker addresses in KAFKA_BROKERS against the names in its certificate, and the certificate's validity`;
  }
}

/** kafkajs' own socket factory, with the TLS errors explained (explainKafkaTlsError). */
const explainingSocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, onConnect);
  // Registered before kafkajs' own listener, so the message it wraps already says what to fix.
  socket.on('error', (err) => explainKafkaTlsError(err, `${host}:${port}`));
  socket.setKeepAlive(true, 60_000);
  return socket;
};

export function createKafka(opts: KafkaClientOptions): Kafka {
  quietKafkajsNegativeTimer();
  return new Kafka({
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    connectionTimeout: opts.connectionTimeoutMs ?? 3000,
    requestTimeout: opts.requestTimeoutMs ?? 10_000,
    ...(opts.ssl !== undefined ? { ssl: opts.ssl, socketFactory: explainingSocketFactory } : {}),
    ...(opts.sasl !== undefined ? { sasl: opts.sasl } : {}),
    logLevel: opts.logger ? logLevel.WARN : logLevel.NOTHING,
    ...(opts.logger ? { logCreator: pinoLogCreator(opts.logger) } : {}),
    retry: { initialRetryTime: 100, retries: 5 },
  });
}

/** A service's client from its configuration: KAFKA_BROKERS and the KAFKA_SECURITY_* variables. */
export function kafkaFromConfig(
  config: { KAFKA_BROKERS: readonly string[]; kafkaSecurity: KafkaSecurity },
  clientId: string,
  logger: Logger,
): Kafka {
  return createKafka({ brokers: config.KAFKA_BROKERS, clientId, logger, ...config.kafkaSecurity });
}

/**
 * An idempotent producer: with acks=all on every send (see `publish`), a write the broker
 * acknowledged survives a leader change, and a retried send is not written twice within the
 * producer's session. Retries are bounded so a caller learns of an outage in time (the gateway
 * must answer WeChat within 5 s); a send retried by the caller may then be written twice, which
 * every consumer absorbs (the ledger deduplicates by observation and by order).
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // Murmur2 by key, as Java clients partition: one order's events share a partition everywhere.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/**
 * A consumer that stays stopped once disconnected. kafkajs restarts a crashed consumer on a timer
 * (after a broker restart, a lost coordinator); a crash that races `disconnect()` — it reports the
 * crash, then arms the restart — brings the consumer back after it was stopped, and it runs,
 * retries and rejoins its group with nobody left to stop it (a service shutting down, a test that
 * has ended). Here, once `disconnect()` was called: a crash never restarts, a restart armed during
 * the disconnect is disarmed, and one already under way is stopped as soon as it fetches.
 */
export function createConsumer(kafka: Kafka, config: ConsumerConfig): Consumer {
  let stopped = false;
  const restartOnFailure = config.retry?.restartOnFailure;
  const consumer = kafka.consumer({
    ...config,
    retry: {
      ...config.retry,
      restartOnFailure: async (err) => !stopped && (restartOnFailure ? await restartOnFailure(err) : true),
    },
  });
  const disconnect = consumer.disconnect;
  const stop = consumer.stop;
  consumer.disconnect = async () => {
    stopped = true;
    await disconnect();
    // kafkajs's stop() also clears an armed restart timer: by now any crash being handled has armed it.
    await stop();
  };
  consumer.on(consumer.events.FETCH_START, () => {
    if (stopped) void disconnect().catch(() => {});
  });
  return consumer;
}
