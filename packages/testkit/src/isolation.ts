import { randomBytes } from 'node:crypto';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';

/** The servers the global setup chose; fails clearly when a test runs without it. */
export function testEnv(): { mysqlUrl: string; kafkaBrokers: string[] } {
  const mysqlUrl = process.env.MYSQL_URL;
  const brokers = process.env.KAFKA_BROKERS;
  if (!mysqlUrl || !brokers) {
    throw new Error(
      'MYSQL_URL and KAFKA_BROKERS are not set: run integration tests through their jest config',
    );
  }
  return { mysqlUrl, kafkaBrokers: brokers.split(',').map((b) => b.trim()) };
}

/** A name no other test file uses, for databases, topics and consumer groups. */
export function uniqueName(prefix: string): string {
  const safe = prefix.replace(/[^a-zA-Z0-9_]/g, '_').slice(0, 24);
  return `${safe}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

export type IsolatedDatabase = { name: string; url: string; drop: () => Promise<void> };

/** Creates an empty database of its own for one test file; `drop()` removes it. */
export async function createIsolatedDatabase(prefix = 't'): Promise<IsolatedDatabase> {
  const { mysqlUrl } = testEnv();
  const name = uniqueName(`t_${prefix}`).toLowerCase();
  const admin = await mysql.createConnection({ uri: mysqlUrl });
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.end();
  }
  const url = new URL(mysqlUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const conn = await mysql.createConnection({ uri: mysqlUrl });
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end();
      }
    },
  };
}

export function testKafka(clientId = uniqueName('test-client')): Kafka {
  return new Kafka({ clientId, brokers: testEnv().kafkaBrokers, logLevel: logLevel.NOTHING });
}

/**
 * Creates topics (with the given partitions) for one test file, waits until every partition has
 * a leader, and returns a cleanup. Right after a broker restart, metadata can lag the controller
 * for a moment (UNKNOWN_TOPIC_OR_PARTITION for a topic just created), so the wait polls through it.
 */
export async function createIsolatedTopics(
  names: readonly string[],
  partitions = 3,
): Promise<{ names: readonly string[]; remove: () => Promise<void> }> {
  const admin: Admin = testKafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: false,
      topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    });
    await eventually(
      `leaders for ${names.length} new topics`,
      async () => {
        const { topics } = await admin.fetchTopicMetadata({ topics: [...names] });
        const ready = topics.every(
          (t) => t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0),
        );
        return ready ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } finally {
    await admin.disconnect();
  }
  return {
    names,
    remove: async () => {
      const a = testKafka().admin();
      await a.connect();
      try {
        await a.deleteTopics({ topics: [...names] });
      } finally {
        await a.disconnect();
      }
    },
  };
}

/** Polls until `probe` returns a value that is not undefined; throws with `what` on timeout. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
