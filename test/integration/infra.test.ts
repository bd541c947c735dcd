import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ALL_TOPICS } from '@paysync/contracts';
import { createConsumer } from '@paysync/kafka';
import {
  createIsolatedDatabase,
  createIsolatedTopics,
  eventually,
  infraCommand,
  testKafka,
  uniqueName,
} from '@paysync/testkit';

// The local infrastructure script (scripts/infra.ts) against the servers it runs. These checks only
// make sense when the suite runs on the local servers (not on MYSQL_URL/KAFKA_BROKERS given from
// outside, nor on testcontainers).

type StatusLine = { name: string; address: string; pid: number | null; state: string };

const STATUS_LINE = /^(\S+)\s+(127\.0\.0\.1:\d+)\s+pid (\d+|-)\s+(running|stopped)$/;

async function statusLines(): Promise<StatusLine[]> {
  const out = await infraCommand('status');
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const m = STATUS_LINE.exec(line.trim());
      if (!m) throw new Error(`unexpected status line: ${JSON.stringify(line)}`);
      return { name: m[1]!, address: m[2]!, pid: m[3] === '-' ? null : Number(m[3]), state: m[4]! };
    });
}

function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const local = JSON.parse(await infraCommand('env', '--json')) as { MYSQL_URL: string; KAFKA_BROKERS: string };
const onLocalServers =
  process.env.MYSQL_URL === local.MYSQL_URL && process.env.KAFKA_BROKERS === local.KAFKA_BROKERS;

(onLocalServers ? describe : describe.skip)('scripts/infra.ts on the local servers', () => {
  const mysqlPort = new URL(local.MYSQL_URL).port;
  const kafkaAddress = local.KAFKA_BROKERS;

  it('status lists MariaDB and Kafka with their loopback port and the pid of the live server', async () => {
    const lines = await statusLines();
    expect(lines.map((l) => l.name)).toEqual(['mariadb', 'kafka']);
    const [mariadb, kafka] = lines as [StatusLine, StatusLine];

    expect(mariadb).toMatchObject({ address: `127.0.0.1:${mysqlPort}`, state: 'running' });
    expect(kafka).toMatchObject({ address: kafkaAddress, state: 'running' });
    for (const line of lines) {
      expect(line.pid).not.toBeNull();
      expect(isAlive(line.pid!)).toBe(true);
    }
    expect(commandLine(mariadb.pid!)).toMatch(new RegExp(`^mariadbd .*--port=${mysqlPort} `));
    expect(commandLine(kafka.pid!)).toContain('kafka.Kafka');
  });

  it('up is idempotent while the servers run: it succeeds and keeps the same processes', async () => {
    const before = await statusLines();
    await infraCommand('up');
    const after = await statusLines();
    expect(after).toEqual(before);
    expect(after.every((l) => l.state === 'running')).toBe(true);
  });

  it('status --json reports the same servers as the text form', async () => {
    const json = JSON.parse(await infraCommand('status', '--json')) as StatusLine[];
    expect(json).toEqual(await statusLines());
  });

  it('creates every topic of the contracts with the configured partition count', async () => {
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [...ALL_TOPICS] });
      const partitions = Number(process.env.PAYSYNC_KAFKA_PARTITIONS || 6);
      expect(Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]))).toEqual(
        Object.fromEntries(ALL_TOPICS.map((name) => [name, partitions])),
      );
    } finally {
      await admin.disconnect();
    }
  });

  it('lets the paysync user create and drop a database of its own', async () => {
    const db = await createIsolatedDatabase('infra');
    expect(db.url).toContain(`/${db.name}`);
    await db.drop();
  });

  // Kafka 4 removed the oldest protocol versions (KIP-896): this is the proof that kafkajs 2.2.4
  // still does everything paysync needs against the broker version scripts/kafka/pom.xml pins.
  it('serves kafkajs: idempotent acks=all producer, consumer group commits, offsets and group admin', async () => {
    const kafka = testKafka();
    const topic = uniqueName('infra-kafkajs');
    const groupId = uniqueName('infra-group');
    const topics = await createIsolatedTopics([topic], 3);
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const consumer = createConsumer(kafka, { groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
    await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
    try {
      const keys = Array.from({ length: 12 }, (_, i) => `ORDER_${i}`);
      await producer.send({ topic, acks: -1, messages: keys.map((key) => ({ key, value: `v-${key}` })) });

      const seen: string[] = [];
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          seen.push(message.key!.toString());
          const next = (BigInt(message.offset) + 1n).toString();
          await consumer.commitOffsets([{ topic, partition, offset: next }]);
        },
      });
      await eventually('all 12 messages consumed', async () =>
        seen.length >= keys.length ? true : undefined,
      );
      expect([...seen].sort()).toEqual([...keys].sort());

      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      const latest = await admin.fetchTopicOffsets(topic);
      const sum = (xs: { offset?: string; high?: string }[], field: 'offset' | 'high') =>
        xs.reduce((n, x) => n + Number(x[field]), 0);
      expect(sum(committed[0]!.partitions, 'offset')).toBe(keys.length);
      expect(sum(latest, 'high')).toBe(keys.length);

      const { groups } = await admin.describeGroups([groupId]);
      expect(groups[0]).toMatchObject({ groupId, state: 'Stable', protocolType: 'consumer' });
      expect(groups[0]!.members).toHaveLength(1);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
      await topics.remove();
    }
  });
});
