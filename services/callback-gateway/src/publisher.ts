import { type PaymentObservation, TOPICS } from '@paysync/contracts';
import { publish } from '@paysync/kafka';
import type { Producer } from 'kafkajs';
import { PublishFailedError } from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';

export type ObservationPublisher = {
  /** Connects the first producer (start-up; throws when Kafka cannot be reached). */
  start(): Promise<void>;
  /**
   * Resolves once Kafka acknowledged the observation with acks=all; rejects with PublishFailedError
   * when it did not within the deadline or refused it. Only a resolved publish may be answered 2xx.
   */
  publish(observation: PaymentObservation): Promise<void>;
  /** Whether the current producer is connected. */
  connected(): boolean;
  /** How long (ms) no connected producer has been available; 0 while one is (readiness). */
  unavailableForMs(): number;
  /** Waits for what is queued or being written, then disconnects the producer (shutdown). */
  stop(): Promise<void>;
};

export type ObservationPublisherOptions = {
  /** Builds an idempotent producer (`createIdempotentProducer(kafka)`); called again after a failure. */
  createProducer: () => Producer;
  /** The topic actually written (a prefixed name in shared clusters and tests). */
  topic: string;
  /** The caller's whole wait, queueing included; well inside WeChat's 5 s. */
  timeoutMs: number;
  metrics: GatewayMetrics;
  /** Observations per Kafka request at most (default 500). */
  maxBatch?: number;
  /**
   * How long the first observation of a batch waits for others to join it (default 5 ms). A Kafka
   * write costs the gateway a few hundred µs of CPU whatever its size (kafkajs encodes a record batch
   * per partition), so under load a short linger buys larger batches and far fewer writes.
   */
  lingerMs?: number;
  onProducerReset?: (reason: unknown) => void;
};

type Pending = {
  observation: PaymentObservation;
  /** performance.now() when it was queued. */
  queuedAt: number;
  resolve: () => void;
  reject: (err: Error) => void;
  abandoned: boolean;
};

/**
 * Writes observations to Kafka in group commits: a batch goes once its first observation has
 * lingered `lingerMs` (or the batch is full), and while one write is in flight, the observations
 * that arrive queue up and go together in the next one. Each caller still waits for the broker's
 * acknowledgement of its own observation, so nothing is answered before it is durable, but the
 * idempotent producer (one request in flight per broker) is not a queue of single messages.
 *
 * After a write fails for good, the producer is replaced before the next write. The failed batch
 * may have been appended with its answer lost; an idempotent producer that kept its id would give
 * the next, different batch the same sequence numbers, and the broker could acknowledge it as a
 * duplicate of the lost one without writing it. A new producer id rules that out.
 */
export function createObservationPublisher(opts: ObservationPublisherOptions): ObservationPublisher {
  const maxBatch = opts.maxBatch ?? 500;
  const lingerMs = opts.lingerMs ?? 5;
  let lingerTimer: NodeJS.Timeout | undefined;
  const { metrics } = opts;
  let queue: Pending[] = [];
  let writing: Promise<void> | undefined;
  let producer: Producer | undefined;
  let isConnected = false;
  let needsNewProducer = true;
  let stopped = false;
  /** Since when no connected producer is available (undefined while one is). */
  let unavailableSince: number | undefined = Date.now();

  let replacing: Promise<Producer> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;

  async function replace(): Promise<Producer> {
    const old = producer;
    producer = undefined;
    isConnected = false;
    unavailableSince ??= Date.now();
    if (old) await old.disconnect().catch(() => {});
    const p = opts.createProducer();
    p.on(p.events.CONNECT, () => {
      isConnected = true;
      // The current producer reconnected by itself (a replacement clears the clock once connected).
      if (producer === p && !needsNewProducer) unavailableSince = undefined;
    });
    p.on(p.events.DISCONNECT, () => {
      if (producer !== p) return;
      isConnected = false;
      unavailableSince ??= Date.now();
    });
    try {
      await p.connect();
    } catch (err) {
      await p.disconnect().catch(() => {});
      throw err;
    }
    producer = p;
    needsNewProducer = false;
    unavailableSince = undefined;
    return p;
  }

  /** The current producer, or a new connected one when the last write failed (single flight). */
  function freshProducer(): Promise<Producer> {
    if (producer && !needsNewProducer) return Promise.resolve(producer);
    replacing ??= replace().finally(() => {
      replacing = undefined;
    });
    return replacing;
  }

  /**
   * Reconnects in the background after a failure, so the gateway becomes ready again when Kafka
   * returns even if no traffic reaches it meanwhile (an unready pod gets none).
   */
  function recoverLater(): void {
    if (stopped || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (stopped || !needsNewProducer) return;
      freshProducer().catch(() => recoverLater());
    }, 1000);
  }

  async function write(batch: Pending[]): Promise<void> {
    const started = performance.now();
    try {
      const p = await freshProducer();
      await publish(
        p,
        TOPICS.paymentObservations,
        batch.map((x) => x.observation),
        { destination: opts.topic, timeoutMs: opts.timeoutMs },
      );
      metrics.publishDuration.observe((performance.now() - started) / 1000);
      metrics.publishBatchSize.observe(batch.length);
      for (const x of batch) x.resolve();
    } catch (err) {
      if (!needsNewProducer) opts.onProducerReset?.(err);
      needsNewProducer = true;
      unavailableSince ??= Date.now();
      recoverLater();
      for (const x of batch) x.reject(new PublishFailedError('error', { cause: err }));
    }
  }

  function kick(): void {
    if (writing || queue.length === 0) return;
    const waited = performance.now() - (queue[0] as Pending).queuedAt;
    if (queue.length < maxBatch && waited < lingerMs && !stopped) {
      lingerTimer ??= setTimeout(() => {
        lingerTimer = undefined;
        kick();
      }, lingerMs - waited);
      return;
    }
    clearTimeout(lingerTimer);
    lingerTimer = undefined;
    // Observations whose caller already gave up (answered 503) are not written: WeChat retries them.
    queue = queue.filter((x) => !x.abandoned);
    if (queue.length === 0) return;
    const batch = queue.splice(0, maxBatch);
    writing = write(batch).finally(() => {
      writing = undefined;
      kick();
    });
  }

  return {
    async start() {
      await freshProducer();
    },
    connected: () => isConnected && !needsNewProducer,
    unavailableForMs: () => (unavailableSince === undefined ? 0 : Date.now() - unavailableSince),
    publish(observation) {
      if (stopped) return Promise.reject(new PublishFailedError('error'));
      return new Promise<void>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const pending: Pending = {
          observation,
          queuedAt: performance.now(),
          abandoned: false,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        };
        timer = setTimeout(() => {
          pending.abandoned = true;
          reject(new PublishFailedError('timeout'));
        }, opts.timeoutMs);
        queue.push(pending);
        kick();
      }).catch((err: unknown) => {
        if (err instanceof PublishFailedError) metrics.publishFailures.inc({ reason: err.reason });
        throw err;
      });
    },
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      while (writing || queue.some((x) => !x.abandoned)) {
        kick();
        await writing;
      }
      await replacing?.catch(() => {});
      const p = producer;
      producer = undefined;
      isConnected = false;
      await p?.disconnect();
    },
  };
}
