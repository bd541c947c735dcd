import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createIsolatedTopics, eventually, testEnv, uniqueName } from '@paysync/testkit';
import type { Consumer, Producer } from 'kafkajs';
import { createConsumer, createIdempotentProducer, createKafka } from '../../src/index.ts';

const topic = uniqueName('consumer_restart');
const kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: uniqueName('consumer-test') });
let producer: Producer;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  cleanup = (await createIsolatedTopics([topic], 1)).remove;
  producer = createIdempotentProducer(kafka);
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'v' }] });
});
afterAll(async () => {
  await producer?.disconnect();
  await cleanup?.();
});

describe('createConsumer', () => {
  // kafkajs schedules a crashed consumer's restart right after it reports the crash: a disconnect
  // at that moment (a service stopping because of the crash) used to be undone by the restart.
  it('stays stopped when disconnected while a crash restart is being scheduled', async () => {
    let handled = 0;
    let handledAfterStop = 0;
    let stopped = false;
    const consumer: Consumer = createConsumer(kafka, {
      groupId: uniqueName('restart'),
      retry: { retries: 0, initialRetryTime: 100 },
    });
    consumer.on(consumer.events.CRASH, () => {
      stopped = true;
      void consumer.disconnect();
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async () => {
        handled += 1;
        if (stopped) handledAfterStop += 1;
        throw Object.assign(new Error('this message cannot be handled now'), { retriable: true });
      },
    });
    await eventually('the crash', async () => (stopped ? true : undefined));
    // Well past the 100 ms restart delay and a rejoin: nothing may have been consumed since.
    await sleep(3000);
    await consumer.disconnect();
    expect(handled).toBeGreaterThan(0);
    expect(handledAfterStop).toBe(0);
  });
});
