import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { type Config, HOST, KAFKA_TOPICS, ROOT } from './config.ts';
import { InfraError } from './errors.ts';
import { progress } from './log.ts';

// The one step that uses an npm dependency: kafkajs from the checkout's node_modules (`npm ci` runs
// before `up`). It is loaded lazily so that every other command works without node_modules.

type Admin = {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  createTopics(o: {
    topics: { topic: string; numPartitions: number; replicationFactor: number }[];
    waitForLeaders?: boolean;
  }): Promise<boolean>;
  createPartitions(o: { topicPartitions: { topic: string; count: number }[] }): Promise<boolean>;
  fetchTopicMetadata(o: { topics: string[] }): Promise<{ topics: { name: string; partitions: unknown[] }[] }>;
  fetchOffsets(o: { groupId: string; topics: string[] }): Promise<unknown>;
};
type KafkaJs = {
  Kafka: new (o: object) => { admin(): Admin };
  logLevel: { NOTHING: number };
};

/** Retries a step that fails while the group coordinator is still loading. */
async function retrying<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline)
        throw new InfraError(
          'KAFKA_WARMUP',
          `${what} still failing after ${timeoutMs / 1000} s: ${(err as Error).message}`,
        );
      await sleep(250);
    }
  }
}

async function loadKafkaJs(): Promise<KafkaJs> {
  const require = createRequire(join(ROOT, 'package.json'));
  try {
    // The Kafka client package's quieting of kafkajs's negative-timer warning, as in every service.
    const paysyncKafka = (await import(pathToFileURL(require.resolve('@paysync/kafka')).href)) as {
      quietKafkajsNegativeTimer(): void;
    };
    paysyncKafka.quietKafkajsNegativeTimer();
    return require('kafkajs') as KafkaJs;
  } catch {
    throw new InfraError(
      'NO_KAFKAJS',
      `creating the Kafka topics needs kafkajs in ${existsSync(join(ROOT, 'node_modules')) ? 'node_modules (not found there)' : 'node_modules, which is missing'}: run \`npm ci\` first`,
    );
  }
}

/**
 * Creates the topics of DESIGN.md with the configured partition count (idempotent: an existing topic
 * with fewer partitions is grown, never shrunk), then makes the group coordinator ready so that the
 * first consumer group of a test does not wait for __consumer_offsets to be created.
 */
export async function ensureTopics(config: Config): Promise<void> {
  const { Kafka, logLevel } = await loadKafkaJs();
  const admin = new Kafka({
    clientId: 'paysync-infra',
    brokers: [`${HOST}:${config.kafkaPort}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200 },
  }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = KAFKA_TOPICS.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({
        topics: missing.map((topic) => ({
          topic,
          numPartitions: config.kafkaPartitions,
          replicationFactor: 1,
        })),
        waitForLeaders: true,
      });
      progress(`Kafka: created topics ${missing.join(', ')} (${config.kafkaPartitions} partitions each)`);
    }
    const { topics } = await admin.fetchTopicMetadata({ topics: [...KAFKA_TOPICS] });
    const grow = topics.filter((t) => t.partitions.length < config.kafkaPartitions);
    if (grow.length > 0) {
      await admin.createPartitions({
        topicPartitions: grow.map((t) => ({ topic: t.name, count: config.kafkaPartitions })),
      });
      progress(`Kafka: grew ${grow.map((t) => t.name).join(', ')} to ${config.kafkaPartitions} partitions`);
    }
    for (const t of topics.filter((t) => t.partitions.length > config.kafkaPartitions)) {
      progress(
        `Kafka: note: ${t.name} has ${t.partitions.length} partitions (more than ${config.kafkaPartitions}; partitions are never removed)`,
      );
    }
    // FindCoordinator creates __consumer_offsets; retried until its partitions are loaded.
    await retrying('the group coordinator warm-up', () =>
      admin.fetchOffsets({ groupId: 'paysync-infra-warmup', topics: [KAFKA_TOPICS[0]] }),
    );
  } catch (err) {
    if (err instanceof InfraError) throw err;
    throw new InfraError(
      'KAFKA_TOPICS',
      `could not create the Kafka topics on ${HOST}:${config.kafkaPort}: ${(err as Error).message}`,
    );
  } finally {
    await admin.disconnect();
  }
}
