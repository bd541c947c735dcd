import { type PaymentObservation, TOPICS, type TopicNames } from '@paysync/contracts';
import { publish } from '@paysync/kafka';
import type { Producer } from 'kafkajs';
import type { AlertInput } from './alerts.ts';
import { Batcher } from './batcher.ts';
import { PublishFailedError } from './errors.ts';

/** Where observations and alerts go. Resolves only once Kafka acknowledged them (acks=all). */
export interface Publisher {
  observations(observations: readonly PaymentObservation[]): Promise<void>;
  alerts(alerts: readonly AlertInput[]): Promise<void>;
  /** Waits for every write in flight. */
  idle(): Promise<void>;
}

/** Publishes nothing: what a dry run is given, so that it needs no Kafka connection. */
export const NO_PUBLISH: Publisher = Object.freeze({
  observations: async () => {},
  alerts: async () => {},
  idle: async () => {},
});

export type KafkaPublisherOptions = {
  producer: Producer;
  topics: Pick<TopicNames, 'paymentObservations' | 'alerts'>;
  /** Messages per Kafka request (default 500). */
  maxBatch?: number;
  /** How long the first observation of a batch waits for others (default 0: write at once). */
  lingerMs?: number;
  timeoutMs?: number;
};

/**
 * Publishes through an idempotent producer, batching concurrent callers into one request (the
 * idempotent producer sends one request at a time, so batching is what makes 500 orders/s cheap).
 */
export function createKafkaPublisher(opts: KafkaPublisherOptions): Publisher {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const observations = new Batcher<PaymentObservation>(
    async (items) => {
      try {
        await publish(opts.producer, TOPICS.paymentObservations, items, {
          destination: opts.topics.paymentObservations,
          timeoutMs,
        });
      } catch (err) {
        throw new PublishFailedError(`${items.length} observation(s)`, { cause: err });
      }
    },
    { maxBatch: opts.maxBatch ?? 500, lingerMs: opts.lingerMs ?? 0 },
  );
  const alerts = new Batcher<AlertInput>(
    async (items) => {
      try {
        await publish(opts.producer, TOPICS.alerts, items, { destination: opts.topics.alerts, timeoutMs });
      } catch (err) {
        throw new PublishFailedError(`${items.length} alert(s)`, { cause: err });
      }
    },
    { maxBatch: opts.maxBatch ?? 500 },
  );
  return {
    observations: (items) => observations.add(items),
    alerts: (items) => alerts.add(items),
    idle: async () => {
      await Promise.all([observations.idle(), alerts.idle()]);
    },
  };
}
