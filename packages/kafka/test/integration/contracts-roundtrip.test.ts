import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ALL_TOPICS,
  ContractError,
  decodeMessage,
  exampleMessages,
  TOPICS,
  type TopicName,
  tryDecodeMessage,
} from '@paysync/contracts';
import { createIsolatedTopics, eventually, testEnv, uniqueName } from '@paysync/testkit';
import type { Consumer, Producer } from 'kafkajs';

import {
  createConsumer,
  createIdempotentProducer,
  createKafka,
  ensureTopics,
  publish,
} from '../../src/index.ts';

// Each canonical topic gets an isolated twin for this file, so tests never read each other.
const isolated = Object.fromEntries(ALL_TOPICS.map((t) => [t, uniqueName(t.replace(/\./g, '_'))])) as Record<
  TopicName,
  string
>;

const kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: uniqueName('contracts-roundtrip') });
let producer: Producer;
let consumer: Consumer;
let cleanup: () => Promise<void>;
const received: {
  topic: string;
  key: string | undefined;
  value: Buffer | null;
  headers: Record<string, string>;
}[] = [];

beforeAll(async () => {
  cleanup = (await createIsolatedTopics(Object.values(isolated), 2)).remove;
  producer = createIdempotentProducer(kafka);
  await producer.connect();
  consumer = createConsumer(kafka, { groupId: uniqueName('roundtrip') });
  await consumer.connect();
  await consumer.subscribe({ topics: Object.values(isolated), fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      received.push({ topic, key: message.key?.toString(), value: message.value, headers });
    },
  });
});

afterAll(async () => {
  await consumer?.disconnect();
  await producer?.disconnect();
  await cleanup?.();
});

describe('contracts over a real Kafka broker', () => {
  it('creates the canonical topics idempotently', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, { partitions: 6 });
      expect(await ensureTopics(admin, { partitions: 6 })).toEqual([]);
      const metadata = await admin.fetchTopicMetadata({ topics: [...ALL_TOPICS] });
      expect(metadata.topics.map((t) => t.name).sort()).toEqual([...ALL_TOPICS].sort());
    } finally {
      await admin.disconnect();
    }
  });

  it.each(ALL_TOPICS)(
    'a %s message produced with the encoder is consumed and decoded back equal',
    async (topic) => {
      const message = exampleMessages()[topic];
      await publish(producer, topic, [message as never], { destination: isolated[topic] });
      const got = await eventually(`the message on ${isolated[topic]}`, async () =>
        received.find((r) => r.topic === isolated[topic]),
      );
      expect(decodeMessage(topic, got.value)).toEqual(message);
      expect(got.key).toBe('outTradeNo' in message && message.outTradeNo ? message.outTradeNo : undefined);
      expect(got.headers['paysync-schema']).toBe(topic);
    },
  );

  it('a malformed message on the wire is rejected with its reason', async () => {
    const topic = TOPICS.paymentObservations;
    const bad = JSON.stringify({ out_trade_no: 'RECHARGE_BAD_0001', source: 'fax', trade_state: 'SUCCESS' });
    await producer.send({
      topic: isolated[topic],
      acks: -1,
      messages: [{ key: 'RECHARGE_BAD_0001', value: bad }],
    });
    const got = await eventually('the malformed message', async () =>
      received.find((r) => r.key === 'RECHARGE_BAD_0001'),
    );
    const result = tryDecodeMessage(topic, got.value);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(ContractError);
      expect(result.error.reason).toMatch(/source/);
      expect(result.error.reason).toMatch(/observation_id/);
    }
  });
});
