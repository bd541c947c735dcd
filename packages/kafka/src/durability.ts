import type { Admin } from 'kafkajs';

/**
 * The Kafka protocol's resource type of a topic (kafkajs' ConfigResourceTypes.TOPIC, which Node's ESM
 * loader cannot import by name from kafkajs' CommonJS build).
 */
const TOPIC_RESOURCE = 2;

/** What acks=all needs to mean "on more than one broker": a replica can die without losing a write. */
export const DURABLE = { replicationFactor: 3, minInsyncReplicas: 2 } as const;

export type DurabilityProblem = {
  code: 'TOPIC_MISSING' | 'REPLICATION_TOO_LOW' | 'MIN_INSYNC_TOO_LOW';
  message: string;
};

export type Durability = {
  topic: string;
  /** Smallest replica count over the topic's partitions (0 when the topic is missing). */
  replicationFactor: number;
  /** The effective min.insync.replicas (topic override or the broker's default). */
  minInsyncReplicas: number;
  problems: DurabilityProblem[];
};

/**
 * Reads how durable an acknowledged write to `topic` is: its replication factor and effective
 * `min.insync.replicas`. With acks=all, a write is acknowledged once min.insync.replicas replicas
 * have it; below 2 (or with fewer than 3 replicas, so that one broker down stops writes or loses
 * them) an acknowledgement — which the gateway turns into WeChat's 204 — can be lost with a broker.
 */
export async function checkTopicDurability(admin: Admin, topic: string): Promise<Durability> {
  const problems: DurabilityProblem[] = [];
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) {
    return {
      topic,
      replicationFactor: 0,
      minInsyncReplicas: 0,
      problems: [{ code: 'TOPIC_MISSING', message: `topic ${topic} does not exist` }],
    };
  }
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const partitions = metadata.topics[0]?.partitions ?? [];
  const replicationFactor = Math.min(...partitions.map((p) => p.replicas.length));
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ['min.insync.replicas'] }],
  });
  const entry = configs.resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas');
  const minInsyncReplicas = Number(entry?.configValue ?? 1);
  if (replicationFactor < DURABLE.replicationFactor) {
    problems.push({
      code: 'REPLICATION_TOO_LOW',
      message: `${topic} has ${replicationFactor} replica(s); at least ${DURABLE.replicationFactor} are needed so that one broker down neither loses nor refuses acknowledged writes`,
    });
  }
  if (minInsyncReplicas < DURABLE.minInsyncReplicas) {
    problems.push({
      code: 'MIN_INSYNC_TOO_LOW',
      message: `${topic} has min.insync.replicas=${minInsyncReplicas}; with acks=all at least ${DURABLE.minInsyncReplicas} replicas must hold a write before it is acknowledged`,
    });
  }
  return { topic, replicationFactor, minInsyncReplicas, problems };
}
