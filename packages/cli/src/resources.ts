import { type TopicNames, topicNames } from '@paysync/contracts';
import { createPool, type Pool } from '@paysync/db';
import { createIdempotentProducer, createKafka, loadKafkaSecurity } from '@paysync/kafka';
import { certificateArchiver } from '@paysync/orders';
import { createKafkaPublisher, type Publisher } from '@paysync/reconcile';
import { createWeChatClient, loadWeChatPaySecrets, type WeChatPayClient } from '@paysync/wechatpay';
import type { Kafka, Producer } from 'kafkajs';
import { databaseUrl, kafkaEnv, load, wechatSettings } from './config.ts';
import type { Io } from './io.ts';

/**
 * What a command needs, created on first use from the environment and closed when payctl exits:
 * a command that does not touch Kafka never needs KAFKA_BROKERS.
 */
export class Resources {
  readonly #io: Io;
  #pool: Pool | undefined;
  #kafka: Kafka | undefined;
  #producer: Producer | undefined;
  #publisher: Publisher | undefined;
  #wechat: WeChatPayClient | undefined;

  constructor(io: Io) {
    this.#io = io;
  }

  pool(): Pool {
    this.#pool ??= createPool({ url: databaseUrl(this.#io.env), connectionLimit: 4 });
    return this.#pool;
  }

  topics(): TopicNames {
    return topicNames(load(kafkaEnv, this.#io.env).KAFKA_TOPIC_PREFIX);
  }

  kafka(): Kafka {
    if (!this.#kafka) {
      const settings = load(kafkaEnv, this.#io.env);
      this.#kafka = createKafka({
        brokers: settings.KAFKA_BROKERS,
        clientId: 'paysync-payctl',
        ...loadKafkaSecurity('payctl', settings, this.#io.env),
      });
    }
    return this.#kafka;
  }

  async publisher(): Promise<Publisher> {
    if (!this.#publisher) {
      const producer = createIdempotentProducer(this.kafka());
      await producer.connect();
      this.#producer = producer;
      this.#publisher = createKafkaPublisher({ producer, topics: this.topics() });
    }
    return this.#publisher;
  }

  /** A publisher that connects to Kafka on its first use (nothing to publish: no connection). */
  lazyPublisher(): Publisher {
    return {
      observations: async (observations) => (await this.publisher()).observations(observations),
      alerts: async (alerts) => (await this.publisher()).alerts(alerts),
      idle: async () => (await this.publisher()).idle(),
    };
  }

  async wechat(): Promise<WeChatPayClient> {
    if (!this.#wechat) {
      const env = wechatSettings(this.#io.env);
      const pool = this.pool();
      const client = createWeChatClient(env, loadWeChatPaySecrets('payctl', env), {
        userAgent: 'paysync-payctl/0.1 (node)',
        // payctl's own download keeps the ledger's archive complete; a failure is not payctl's concern.
        onCertificates: certificateArchiver(pool, () => {}),
      });
      await client.start();
      this.#wechat = client;
    }
    return this.#wechat;
  }

  async close(): Promise<void> {
    await this.#publisher?.idle().catch(() => {});
    await this.#producer?.disconnect().catch(() => {});
    await this.#wechat?.close().catch(() => {});
    await this.#pool?.end().catch(() => {});
  }
}
