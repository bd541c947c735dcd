import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testEnv, uniqueName } from '@paysync/testkit';
import type { Admin, Producer } from 'kafkajs';
import {
  classifyKafkaError,
  createIdempotentProducer,
  createKafka,
  type KafkaErrorKind,
} from '../../src/index.ts';

// Every error classified here is the real broker's (or the real client's) answer: the
// classification reads class names and broker error types, so a kafkajs upgrade that names its
// errors differently fails here, not in production.

const kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: uniqueName('errors-test') });
const small = uniqueName('errors_small');
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic: small,
        numPartitions: 1,
        replicationFactor: 1,
        configEntries: [{ name: 'max.message.bytes', value: '1024' }],
      },
    ],
  });
  // Never creates a topic by producing to it, whatever the broker's auto.create.topics.enable.
  producer = createIdempotentProducer(kafka);
  await producer.connect();
});
afterAll(async () => {
  await producer?.disconnect();
  await admin?.deleteTopics({ topics: [small] }).catch(() => {});
  await admin?.disconnect();
});

const failure = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: unknown) => err,
  );

/** The error's class name, broker type (through kafkajs's wrapper) and class. */
function classified(err: unknown): [string, string | undefined, KafkaErrorKind] {
  const e = err as { name?: string; type?: string; cause?: { type?: string } };
  return [String(e?.name), e?.type ?? e?.cause?.type, classifyKafkaError(err)];
}

describe('classifyKafkaError against the real broker', () => {
  it('names records the broker refuses for their own sake "data"', async () => {
    const err = await failure(
      producer.send({ topic: small, acks: -1, messages: [{ key: 'k', value: 'x'.repeat(4096) }] }),
    );
    expect(classified(err)).toEqual([expect.stringMatching(/^KafkaJS/), 'MESSAGE_TOO_LARGE', 'data']);
  });

  it('names a topic that does not exist "infrastructure"', async () => {
    const err = await failure(
      producer.send({ topic: uniqueName('errors_missing'), acks: -1, messages: [{ key: 'k', value: 'v' }] }),
    );
    expect(classified(err)).toEqual([
      expect.stringMatching(/^KafkaJS/),
      'UNKNOWN_TOPIC_OR_PARTITION',
      'infrastructure',
    ]);
  }, 60_000);

  it('names a broker that is not listening "infrastructure"', async () => {
    const nowhere = createKafka({ brokers: ['127.0.0.1:1'], clientId: uniqueName('errors-nowhere') });
    const p = nowhere.producer();
    const err = await failure(p.connect());
    await p.disconnect();
    expect(classified(err)).toEqual([
      expect.stringMatching(/^KafkaJS(Connection|NumberOfRetriesExceeded)/),
      undefined,
      'infrastructure',
    ]);
    // What kafkajs gave up on was the connection.
    const cause = (err as { cause?: unknown }).cause ?? err;
    expect((cause as { name?: unknown }).name).toBe('KafkaJSConnectionError');
  }, 60_000);

  it('names what is not a Kafka error "other"', () => {
    expect([new TypeError('x is not a function'), 'a string', undefined].map(classifyKafkaError)).toEqual([
      'other',
      'other',
      'other',
    ]);
  });
});
