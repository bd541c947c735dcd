import { ALL_TOPICS } from '@paysync/contracts';
import type { Admin } from 'kafkajs';

export type EnsureTopicsOptions = {
  partitions?: number;
  replicationFactor?: number;
  topics?: readonly string[];
};

/**
 * Creates paysync's topics that do not exist yet; existing topics are left as they are. It does
 * not wait for partition leaders: producers retry until the new topic's metadata has spread.
 */
export async function ensureTopics(admin: Admin, opts: EnsureTopicsOptions = {}): Promise<string[]> {
  const wanted = opts.topics ?? ALL_TOPICS;
  const existing = new Set(await admin.listTopics());
  const missing = wanted.filter((t) => !existing.has(t));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: opts.partitions ?? 6,
        replicationFactor: opts.replicationFactor ?? 1,
      })),
    });
  }
  return missing;
}
