import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createKafka } from '@paysync/kafka';
import { createLogger } from '@paysync/observability';
import { createIsolatedTopics, testEnv, uniqueName } from '@paysync/testkit';
import type { Admin } from 'kafkajs';
import { enforceTopicDurability, TopicNotDurableError } from '../../src/index.ts';

// A 204 to WeChat Pay is final: in production the gateway does not start on an observation topic
// whose acknowledged writes one broker could lose (the local broker is a single node).

const topic = uniqueName('gateway_durability');
const kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: uniqueName('gateway-durability') });
let admin: Admin;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  cleanup = (await createIsolatedTopics([topic], 1)).remove;
});
afterAll(async () => {
  await cleanup?.();
  await admin?.disconnect();
});

describe('observation topic durability at start-up', () => {
  it('refuses to start in production, naming both problems', async () => {
    const logger = createLogger({ service: 'gateway-test', level: 'silent' });
    const refused = await enforceTopicDurability(admin, topic, { production: true, logger }).catch((e) => e);
    expect(refused).toBeInstanceOf(TopicNotDurableError);
    expect(refused.message).toMatch(/1 replica\(s\); at least 3/);
    expect(refused.message).toMatch(/min\.insync\.replicas=1/);
  });

  it('warns and starts in development', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      service: 'gateway-test',
      level: 'warn',
      destination: { write: (line: string) => void lines.push(line) },
    });
    const d = await enforceTopicDurability(admin, topic, { production: false, logger });
    expect(d.problems).toHaveLength(2);
    expect(lines.join('')).toContain('observation topic not durable');
  });
});
