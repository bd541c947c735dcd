import { createHash } from 'node:crypto';
import {
  CONTENT_TYPE,
  encodeMessage,
  type MessageInput,
  SCHEMA_HEADER,
  TOPICS,
  type TopicName,
  type TopicNames,
} from '@paysync/contracts';
import type { Pool, PoolConnection, RowDataPacket } from '@paysync/db';
import type { Logger } from '@paysync/observability';
import type { Producer } from 'kafkajs';

/** What one chunk's settlement leads to publishing. */
export type Publications = {
  settled: MessageInput<typeof TOPICS.orderSettled>[];
  alerts: MessageInput<typeof TOPICS.alerts>[];
  deadLetters: MessageInput<typeof TOPICS.paymentObservationsDlq>[];
};

type OutboxRow = { topic: TopicName; key: string; value: string };

function rowsOf(p: Publications): OutboxRow[] {
  const encode = <T extends TopicName>(topic: T, messages: readonly MessageInput<T>[]): OutboxRow[] =>
    messages.map((m) => {
      const e = encodeMessage(topic, m);
      return { topic, key: e.key, value: e.value };
    });
  return [
    ...encode(TOPICS.orderSettled, p.settled),
    ...encode(TOPICS.alerts, p.alerts),
    ...encode(TOPICS.paymentObservationsDlq, p.deadLetters),
  ];
}

/**
 * Writes publications into the outbox, inside the caller's transaction (the settlement's own):
 * they exist exactly when what they report was committed. Validated against their contracts now.
 */
export async function writeOutbox(conn: PoolConnection, p: Publications): Promise<void> {
  const rows = rowsOf(p);
  if (rows.length === 0) return;
  await conn.query('INSERT INTO ledger_outbox (topic, message_key, message_value) VALUES ?', [
    rows.map((r) => [r.topic, r.key, r.value]),
  ]);
}

export type OutboxRelayOptions = {
  pool: Pool;
  producer: Producer;
  /** Where each canonical topic is written (a prefix in shared clusters, isolated topics in tests). */
  topics: TopicNames;
  logger: Logger;
  /** A failed relay attempt (the messages stay in the outbox and are sent again). */
  onFailure?: (err: unknown) => void;
  /** How long an idle relay waits before looking again (default 200 ms); wake() cuts it short. */
  idleMs?: number;
  batchSize?: number;
};

export type OutboxRelay = {
  start(): void;
  /** A settlement just committed: look now. */
  wake(): void;
  /** Stops after the current round (and one last round to send what is there). */
  stop(): Promise<void>;
};

const DESTINATION: Record<TopicName, keyof TopicNames> = {
  [TOPICS.paymentObservations]: 'paymentObservations',
  [TOPICS.orderSettled]: 'orderSettled',
  [TOPICS.alerts]: 'alerts',
  [TOPICS.paymentObservationsDlq]: 'paymentObservationsDlq',
};

/**
 * Sends the outbox to Kafka in id order (so one order's events keep their order) and deletes what
 * was acknowledged. One relay per database sends at a time — a named lock held on its own
 * connection — since two relays taking interleaved rows could reorder an order's events. At least
 * once: a crash between the send and the delete sends those messages again (consumers deduplicate
 * by event id and dedupe key).
 */
export function createOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  const idleMs = opts.idleMs ?? 200;
  const batchSize = opts.batchSize ?? 500;
  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  let woken = false;
  let leader: { conn: PoolConnection; name: string } | undefined;

  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false;
        resolve();
        return;
      }
      const timer = setTimeout(resolve, ms);
      wakeUp = () => {
        woken = false;
        clearTimeout(timer);
        resolve();
      };
    });

  async function lead(): Promise<boolean> {
    if (leader) {
      const [[row]] = await leader.conn.query<(RowDataPacket & { mine: number | null })[]>(
        'SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine',
        [leader.name],
      );
      if (row?.mine === 1) return true;
      leader.conn.release();
      leader = undefined;
    }
    const conn = await opts.pool.getConnection();
    try {
      const [[db]] = await conn.query<(RowDataPacket & { db: string | null })[]>('SELECT DATABASE() AS db');
      const name = `paysync_outbox_${createHash('sha256')
        .update(db?.db ?? '')
        .digest('hex')
        .slice(0, 32)}`;
      const [[got]] = await conn.query<(RowDataPacket & { got: number | null })[]>(
        'SELECT GET_LOCK(?, 0) AS got',
        [name],
      );
      if (got?.got === 1) {
        leader = { conn, name };
        return true;
      }
    } catch (err) {
      conn.release();
      throw err;
    }
    conn.release();
    return false;
  }

  /** Sends one batch; returns how many rows were sent. */
  async function round(): Promise<number> {
    if (!(await lead())) return 0;
    const [rows] = await opts.pool.query<
      (RowDataPacket & { id: number; topic: TopicName; message_key: string; message_value: string })[]
    >('SELECT id, topic, message_key, message_value FROM ledger_outbox ORDER BY id LIMIT ?', [batchSize]);
    if (rows.length === 0) return 0;
    const byTopic = new Map<string, { key: string; value: string; headers: Record<string, string> }[]>();
    for (const r of rows) {
      const destination = opts.topics[DESTINATION[r.topic]];
      const list = byTopic.get(destination) ?? [];
      list.push({
        key: r.message_key,
        value: r.message_value,
        headers: { [SCHEMA_HEADER]: r.topic, 'content-type': CONTENT_TYPE },
      });
      byTopic.set(destination, list);
    }
    await opts.producer.sendBatch({
      acks: -1,
      timeout: 5000,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    await opts.pool.query('DELETE FROM ledger_outbox WHERE id IN (?)', [rows.map((r) => r.id)]);
    return rows.length;
  }

  async function run(): Promise<void> {
    let backoff = idleMs;
    while (running) {
      try {
        const sent = await round();
        backoff = idleMs;
        if (sent < batchSize) await nap(idleMs);
      } catch (err) {
        opts.onFailure?.(err);
        opts.logger.warn({ err }, 'outbox relay failed; the messages stay in the outbox and are sent again');
        backoff = Math.min(backoff * 2, 5000);
        await nap(backoff);
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    wake() {
      woken = true;
      wakeUp?.();
    },
    async stop() {
      if (!running) return;
      running = false;
      wakeUp?.();
      await loop;
      // One last round: what the last chunks committed goes out now rather than at the next start.
      await round().catch(() => {});
      if (leader) {
        await leader.conn.query('SELECT RELEASE_LOCK(?)', [leader.name]).catch(() => {});
        leader.conn.release();
        leader = undefined;
      }
    },
  };
}
