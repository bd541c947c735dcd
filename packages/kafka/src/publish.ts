import { encodeMessage, type MessageInput, type TopicName } from '@paysync/contracts';
import type { Producer, RecordMetadata } from 'kafkajs';

export type PublishOptions = {
  /** How long the broker may take to acknowledge (default 3 s, well inside WeChat's 5 s). */
  timeoutMs?: number;
  /**
   * The topic actually written, when it differs from the contract's canonical name (an isolated
   * topic in tests, a prefixed topic in a shared cluster). The contract is still `topic`'s.
   */
  destination?: string;
};

/**
 * Validates messages against their topic's contract and writes them with acks=all. Resolves only
 * after every in-sync replica has them; rejects otherwise, so callers can answer 5xx and let the
 * sender retry. All messages of one call go to one topic, each keyed by its order.
 */
export async function publish<T extends TopicName>(
  producer: Producer,
  topic: T,
  messages: readonly MessageInput<T>[],
  opts: PublishOptions = {},
): Promise<RecordMetadata[]> {
  const encoded = messages.map((m) => encodeMessage(topic, m));
  return producer.send({
    topic: opts.destination ?? topic,
    acks: -1,
    timeout: opts.timeoutMs ?? 3000,
    messages: encoded.map((e) => ({ key: e.key, value: e.value, headers: e.headers })),
  });
}
