import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  type DeadLetteredObservation,
  DLQ_HANDLED_GROUP,
  encodeMessage,
  type PaymentObservation,
  TOPICS,
  type TopicNames,
  topicNames,
} from '@paysync/contracts';
import { createPool, migrateUp, type Pool, type RowDataPacket } from '@paysync/db';
import { createConsumer } from '@paysync/kafka';
import {
  createIsolatedDatabase,
  createIsolatedTopics,
  type IsolatedDatabase,
  testEnv,
  testKafka,
  uniqueName,
} from '@paysync/testkit';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { type Io, runPayctl } from '../../src/index.ts';

// payctl dlq against real Kafka and MariaDB: each test writes dead letters, with the contracts'
// encoder, into a DLQ topic of its own (a topic prefix, as deployments sharing a cluster use), and
// checks the offsets of the paysync-dlq-handled group that the ledger's DLQ gauge reads.
let db: IsolatedDatabase;
let pool: Pool;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  db = await createIsolatedDatabase('payctl_dlq');
  pool = createPool({ url: db.url, connectionLimit: 2 });
  await migrateUp(pool);
  kafka = testKafka();
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer();
  await producer.connect();
});
afterAll(async () => {
  for (const c of cleanups) await c().catch(() => {});
  await producer?.disconnect();
  await admin?.disconnect();
  await pool?.end();
  await db?.drop();
});

const MCHID = '1900000109';
const APPID = 'wxd678efh567hg6787';

function observation(no: string): PaymentObservation {
  return {
    observationId: randomUUID(),
    outTradeNo: no,
    source: 'notification',
    observedAt: new Date().toISOString(),
    producer: 'test',
    mchid: MCHID,
    appid: APPID,
    tradeState: 'SUCCESS',
    transactionId: `4200${Date.now()}${Math.floor(Math.random() * 1000)}`,
    amount: { total: 1000, currency: 'CNY' },
    successTime: new Date().toISOString(),
  };
}

/** A dead letter of an unknown order (retriable), or of a message that was not an observation. */
function deadLetter(
  no: string,
  kind: 'unknown_order' | 'malformed' = 'unknown_order',
): DeadLetteredObservation {
  return {
    reason: kind,
    reasonDetail: kind === 'malformed' ? 'not JSON' : `no payment_orders row for out_trade_no ${no}`,
    originalValue:
      kind === 'malformed' ? '{not json' : encodeMessage(TOPICS.paymentObservations, observation(no)).value,
    originalTopic: TOPICS.paymentObservations,
    originalPartition: 0,
    originalOffset: '7',
    outTradeNo: no,
    failedAt: new Date().toISOString(),
  };
}

type Dlq = { topics: TopicNames; env: Record<string, string> };

/**
 * A prefixed DLQ topic (2 partitions) holding `letters`, each written to its partition in order (a
 * string: a message that is not a dead letter by the contract).
 */
async function dlqWith(
  letters: { partition: number; letter: DeadLetteredObservation | string }[],
): Promise<Dlq> {
  const prefix = uniqueName('dlq');
  const topics = topicNames(prefix);
  const created = await createIsolatedTopics([topics.paymentObservationsDlq, topics.paymentObservations], 2);
  cleanups.push(created.remove);
  for (const { partition, letter } of letters) {
    const e =
      typeof letter === 'string'
        ? { key: 'raw', value: letter, headers: {} }
        : encodeMessage(TOPICS.paymentObservationsDlq, letter);
    await producer.send({
      topic: topics.paymentObservationsDlq,
      acks: -1,
      messages: [{ partition, key: e.key, value: e.value, headers: e.headers }],
    });
  }
  const env = {
    MYSQL_URL: db.url,
    KAFKA_BROKERS: testEnv().kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
  };
  return { topics, env };
}

/** Two dead letters in partition 0 (0:0, 0:1), one malformed and one retriable in partition 1. */
const fourLetters = (tag: string) => [
  { partition: 0, letter: deadLetter(`RC${tag}A0001`) },
  { partition: 0, letter: deadLetter(`RC${tag}A0002`) },
  { partition: 1, letter: deadLetter(`RC${tag}B0001`, 'malformed') },
  { partition: 1, letter: deadLetter(`RC${tag}B0002`) },
];

async function payctl(dlq: Dlq, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const env = { ...dlq.env, USER: 'sre-on-call' };
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), env, interactive: false, color: false };
  const code = await runPayctl(argv, io);
  return { code, out: out.join(''), err: err.join('') };
}

/** The handled group's committed offset per partition ('-1': none). */
async function handledOffsets(dlq: Dlq): Promise<Record<number, string>> {
  const [t] = await admin.fetchOffsets({
    groupId: DLQ_HANDLED_GROUP,
    topics: [dlq.topics.paymentObservationsDlq],
  });
  return Object.fromEntries((t?.partitions ?? []).map((p) => [p.partition, p.offset]));
}

/** paysync_ledger_dlq_messages per partition, computed as services/points-ledger/src/metrics.ts does. */
async function ledgerGauge(dlq: Dlq): Promise<Record<number, number>> {
  const topic = dlq.topics.paymentObservationsDlq;
  const [ends, handled] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: DLQ_HANDLED_GROUP, topics: [topic] }),
  ]);
  const done = new Map(
    (handled[0]?.partitions ?? [])
      .filter((p) => p.offset !== '-1')
      .map((p) => [p.partition, BigInt(p.offset)]),
  );
  const gauge: Record<number, number> = {};
  for (const end of ends) {
    const low = BigInt(end.low);
    const committed = done.get(end.partition) ?? low;
    const waiting = BigInt(end.high) - (committed > low ? committed : low);
    gauge[end.partition] = Number(waiting > 0n ? waiting : 0n);
  }
  return gauge;
}

type AuditRow = {
  action: string;
  actor: string;
  reason: string;
  dry_run: number;
  out_trade_no: string | null;
  before_state: { dlq: string } & Record<string, unknown>;
  after_state: Record<string, unknown> | null;
};

async function audits(actor: string): Promise<AuditRow[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT action, actor, reason, dry_run, out_trade_no, before_state, after_state FROM operator_audit_log WHERE actor = ? ORDER BY id',
    [actor],
  );
  const parsed = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  return rows.map((r) => ({
    ...(r as unknown as AuditRow),
    before_state: parsed(r.before_state),
    after_state: parsed(r.after_state),
  }));
}

type Listed = { total: number; unhandled: number; entries: { id: string; handled: boolean }[] };

describe('payctl dlq list', () => {
  it('shows every dead letter unhandled until resolved, with the unhandled count in its header', async () => {
    const dlq = await dlqWith(fourLetters('L'));
    const text = await payctl(dlq, 'dlq', 'list');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^4 dead-lettered observation\(s\), 4 unhandled\n/);
    expect(text.out).toMatch(/HANDLED/);
    expect(text.out).toMatch(/^0:1\s.*RCLA0002\s+yes\s+no\s/m);
    const listed = JSON.parse((await payctl(dlq, '--json', 'dlq', 'list')).out) as Listed;
    expect(listed).toMatchObject({ total: 4, unhandled: 4 });
    expect(listed.entries.map((e) => [e.id, e.handled])).toEqual([
      ['0:0', false],
      ['0:1', false],
      ['1:0', false],
      ['1:1', false],
    ]);
  });
});

describe('payctl dlq resolve', () => {
  it('refuses a later entry while an earlier one of its partition is unhandled, and changes nothing', async () => {
    const dlq = await dlqWith(fourLetters('R'));
    const r = await payctl(dlq, 'dlq', 'resolve', '0:1', '--actor', 'sre-refused', '--reason', 'test');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not handled yet and were not named: 0:0\b/);
    expect(Object.values(await handledOffsets(dlq))).toEqual(['-1', '-1']);
    expect(await audits('sre-refused')).toEqual([]);
  });

  it('marks named entries handled by advancing the group offset, one audit record each; list shows them handled', async () => {
    const dlq = await dlqWith(fourLetters('M'));
    const r = await payctl(
      dlq,
      'dlq',
      'resolve',
      '0:0',
      '0:1',
      '--actor',
      'sre-mark',
      '--reason',
      'INC-7 refunded',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^0:0\s+RCMA0001\s+marked handled$/m);
    expect(r.out).toMatch(/partition 0: marked handled every entry below offset 2 \(was 0\)/);
    expect(r.out).toMatch(/2 unhandled dead letter\(s\) left/);
    expect(await handledOffsets(dlq)).toEqual({ 0: '2', 1: '-1' });

    const rows = await audits('sre-mark');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      action: 'dlq_resolve',
      reason: 'INC-7 refunded',
      dry_run: 0,
      out_trade_no: 'RCMA0001',
      before_state: { dlq: '0:0', reason: 'unknown_order' },
      after_state: { handled: true, partition: 0, handledOffset: '2' },
    });
    expect(rows[1]).toMatchObject({ before_state: { dlq: '0:1' } });

    const listed = JSON.parse((await payctl(dlq, '--json', 'dlq', 'list')).out) as Listed;
    expect(listed.unhandled).toBe(2);
    expect(listed.entries.map((e) => [e.id, e.handled])).toEqual([
      ['0:0', true],
      ['0:1', true],
      ['1:0', false],
      ['1:1', false],
    ]);
    const only = await payctl(dlq, 'dlq', 'list', '--unhandled');
    expect(only.out).toMatch(/^4 dead-lettered observation\(s\), 2 unhandled, only those shown\n/);
    expect(only.out).not.toMatch(/^0:/m);
    expect(only.out).toMatch(/^1:0\s/m);
    expect(only.out).toMatch(/^1:1\s/m);
  });

  it('--dry-run prints what it would mark and changes nothing', async () => {
    const dlq = await dlqWith(fourLetters('D'));
    const r = await payctl(dlq, 'dlq', 'resolve', '--all', '--dry-run', '--actor', 'sre-dry');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/DRY RUN/);
    expect(r.out.match(/^\d:\d\s+RCD\w+\s+would mark handled$/gm)).toHaveLength(4);
    expect(r.out).toMatch(/partition 1: would mark handled every entry below offset 2 \(was 0\)/);
    expect(Object.values(await handledOffsets(dlq))).toEqual(['-1', '-1']);
    expect(await audits('sre-dry')).toEqual([]);
    expect(await ledgerGauge(dlq)).toEqual({ 0: 2, 1: 2 });
  });

  it('is idempotent: resolving an entry already handled is reported as such and changes nothing', async () => {
    const dlq = await dlqWith(fourLetters('I'));
    expect(
      (await payctl(dlq, 'dlq', 'resolve', '0:0', '--actor', 'sre-idem', '--reason', 'first')).code,
    ).toBe(0);
    const again = await payctl(dlq, 'dlq', 'resolve', '0:0', '--actor', 'sre-idem', '--reason', 'second');
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^0:0\s+RCIA0001\s+already handled$/m);
    expect(await handledOffsets(dlq)).toEqual({ 0: '1', 1: '-1' });
    expect((await audits('sre-idem')).map((a) => a.reason)).toEqual(['first']);
  });

  it('--all clears the ledger gauge: DLQ end offset minus handled offset is 0 on every partition', async () => {
    // The last message of partition 1 is not a dead letter by the contract: never listed, still counted.
    const dlq = await dlqWith([...fourLetters('A'), { partition: 1, letter: 'not a dead letter' }]);
    expect(await ledgerGauge(dlq)).toEqual({ 0: 2, 1: 3 });
    const r = await payctl(
      dlq,
      'dlq',
      'resolve',
      '--all',
      '--actor',
      'sre-all',
      '--reason',
      'INC-8 all done',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^1:2\s+-\s+marked handled \(not a dead letter by the contract\)$/m);
    expect(await ledgerGauge(dlq)).toEqual({ 0: 0, 1: 0 });
    expect(await handledOffsets(dlq)).toEqual({ 0: '2', 1: '3' });
    const rows = await audits('sre-all');
    expect(rows.map((a) => a.before_state.dlq).sort()).toEqual(['0:0', '0:1', '1:0', '1:1', '1:2']);
    const listed = JSON.parse((await payctl(dlq, '--json', 'dlq', 'list', '--unhandled')).out) as Listed;
    expect(listed).toMatchObject({ total: 4, unhandled: 0, entries: [] });
  });

  it('requires a reason unless --dry-run (exit 2)', async () => {
    const dlq = await dlqWith(fourLetters('Q'));
    const r = await payctl(dlq, 'dlq', 'resolve', '0:0');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--reason is required/);
    expect(Object.values(await handledOffsets(dlq))).toEqual(['-1', '-1']);
  });

  it('refuses with a clear message while something consumes with the handled group', async () => {
    const dlq = await dlqWith(fourLetters('B'));
    const squatter = createConsumer(kafka, { groupId: DLQ_HANDLED_GROUP });
    await squatter.connect();
    try {
      let joined = () => {};
      const isIn = new Promise<void>((r) => {
        joined = r;
      });
      squatter.on(squatter.events.GROUP_JOIN, () => joined());
      await squatter.subscribe({ topic: dlq.topics.paymentObservationsDlq, fromBeginning: false });
      await squatter.run({ autoCommit: false, eachMessage: async () => {} });
      await isIn;
      const r = await payctl(dlq, 'dlq', 'resolve', '0:0', '--actor', 'sre-busy', '--reason', 'test');
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/consumer group paysync-dlq-handled has members/);
    } finally {
      await squatter.disconnect();
    }
    expect(Object.values(await handledOffsets(dlq))).toEqual(['-1', '-1']);
  });
});

describe('payctl dlq retry --resolve', () => {
  async function observationsIn(dlq: Dlq): Promise<number> {
    const ends = await admin.fetchTopicOffsets(dlq.topics.paymentObservations);
    return ends.reduce((n, e) => n + Number(e.high), 0);
  }

  it('publishes the observation again and marks the entry handled', async () => {
    const dlq = await dlqWith(fourLetters('T'));
    const r = await payctl(
      dlq,
      'dlq',
      'retry',
      '0:0',
      '--resolve',
      '--actor',
      'sre-retry',
      '--reason',
      'row restored',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^0:0\s+RCTA0001\s+published again, marked handled$/m);
    expect(await observationsIn(dlq)).toBe(1);
    expect(await handledOffsets(dlq)).toEqual({ 0: '1', 1: '-1' });
    expect((await audits('sre-retry')).map((a) => [a.action, a.before_state.dlq])).toEqual([
      ['dlq_retry', '0:0'],
      ['dlq_resolve', '0:0'],
    ]);
  });

  it('refuses before publishing when an earlier entry of the partition cannot be retried', async () => {
    const dlq = await dlqWith(fourLetters('U'));
    const r = await payctl(
      dlq,
      'dlq',
      'retry',
      '1:1',
      '--resolve',
      '--actor',
      'sre-retry-no',
      '--reason',
      'x',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not named: 1:0\b/);
    expect(await observationsIn(dlq)).toBe(0);
    expect(Object.values(await handledOffsets(dlq))).toEqual(['-1', '-1']);
    expect(await audits('sre-retry-no')).toEqual([]);
  });
});
