import { createPool, type Pool } from '@paysync/db';
import { createIdempotentProducer, createKafka } from '@paysync/kafka';
import { createLogger, type Logger } from '@paysync/observability';
import { certificateArchiver } from '@paysync/orders';
import { createWeChatClient, type WeChatPayClient } from '@paysync/wechatpay';
import type { Producer } from 'kafkajs';
import type { ReconcilerConfig } from './config.ts';

/**
 * What a reconciler run is built from: its logger, MySQL pool, idempotent Kafka producer and WeChat
 * Pay client (every certificate download archived for the ledger's checks). `name`: `reconciler`,
 * `reconciler-bill`, … (the client id and user agent).
 */
export function reconcilerParts(
  config: ReconcilerConfig,
  name: string,
): { logger: Logger; pool: Pool; producer: Producer; client: WeChatPayClient } {
  const logger = createLogger({ service: 'reconciler', level: config.LOG_LEVEL });
  for (const w of config.warnings) logger.warn({ variable: w.variable }, `${w.variable}: ${w.message}`);
  const pool = createPool({ url: config.MYSQL_URL, connectionLimit: config.RECONCILER_DB_POOL_SIZE });
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: `paysync-${name}`,
    logger,
    ...config.kafkaSecurity,
  });
  const producer = createIdempotentProducer(kafka);
  const client = createWeChatClient(config, config.secrets, {
    userAgent: `paysync-${name}/0.1 (node)`,
    onCertificates: certificateArchiver(pool, (err) =>
      logger.warn({ err }, 'platform certificates not archived'),
    ),
  });
  return { logger, pool, producer, client };
}

/** SIGTERM/SIGINT (node drain, job deadline) abort the run: `what` is logged with the signal. */
export function abortOnSignals(logger: Logger, what: string): AbortSignal {
  const controller = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => {
      logger.warn({ signal }, what);
      controller.abort();
    });
  return controller.signal;
}
