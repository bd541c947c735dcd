import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createIsolatedTopics, testEnv, uniqueName } from '@paysync/testkit';
import type { Admin } from 'kafkajs';
import { checkTopicDurability, createKafka } from '../../src/index.ts';

// The local broker is a single node: every topic on it has one replica, so this is the setup the
// check must refuse in production. min.insync.replicas is read as the broker applies it (a topic
// override included).

const kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: uniqueName('durability-test') });
const plain = uniqueName('durability_plain');
const insync = uniqueName('durability_insync');
let admin: Admin;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  cleanup = (await createIsolatedTopics([plain], 1)).remove;
  await admin.createTopics({
    topics: [
      {
        topic: insync,
        numPartitions: 1,
        replicationFactor: 1,
        configEntries: [{ name: 'min.insync.replicas', value: '2' }],
      },
    ],
  });
});
afterAll(async () => {
  await admin?.deleteTopics({ topics: [insync] }).catch(() => {});
  await cleanup?.();
  await admin?.disconnect();
});

describe('checkTopicDurability', () => {
  it('reports one replica and min.insync.replicas 1 as two problems', async () => {
    const d = await checkTopicDurability(admin, plain);
    expect(d).toMatchObject({ replicationFactor: 1, minInsyncReplicas: 1 });
    expect(d.problems.map((p) => p.code)).toEqual(['REPLICATION_TOO_LOW', 'MIN_INSYNC_TOO_LOW']);
  });

  it('reads a topic’s own min.insync.replicas', async () => {
    const d = await checkTopicDurability(admin, insync);
    expect(d.minInsyncReplicas).toBe(2);
    expect(d.problems.map((p) => p.code)).toEqual(['REPLICATION_TOO_LOW']);
  });

  it('reports a missing topic', async () => {
    const d = await checkTopicDurability(admin, uniqueName('durability_missing'));
    expect(d.problems.map((p) => p.code)).toEqual(['TOPIC_MISSING']);
  });
});
