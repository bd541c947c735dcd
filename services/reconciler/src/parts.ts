import { createPool, type Pool } from '@paysync/db';
import { createIdempotentProducer, kafkaFromConfig } from '@paysync/kafka';
import { describeError, type Logger } from '@paysync/observability';
import { certificateArchiver } from '@paysync/orders';
import { createWeChatClient, type WeChatPayClient } from '@paysync/wechatpay';
import type { Producer } from 'kafkajs';
import type { ReconcilerConfig } from './config.ts';

/**
 * What a reconciler run is built from: its MySQL pool, idempotent Kafka producer and WeChat Pay
 * client (every certificate download archived for the ledger's checks). `name`: `reconciler`,
 * `reconciler-bill`, … (the client id and user agent).
 */
export function reconcilerParts(
  config: ReconcilerConfig,
  name: string,
  logger: Logger,
): { pool: Pool; producer: Producer; client: WeChatPayClient } {
  const pool = createPool({ url: config.MYSQL_URL, connectionLimit: config.RECONCILER_DB_POOL_SIZE });
  const kafka = kafkaFromConfig(config, `paysync-${name}`, logger);
  const producer = createIdempotentProducer(kafka);
  const client = createWeChatClient(config, config.secrets, {
    userAgent: `paysync-${name}/0.1 (node)`,
    onCertificates: certificateArchiver(pool, (err) =>
      logger.warn({ error: describeError(err) }, 'platform certificates not archived'),
    ),
  });
  return { pool, producer, client };
}
