import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '@paysync/config';
import { DLQ_HANDLED_GROUP, topicNames } from '@paysync/contracts';
import {
  aclEntries,
  checkTopicDurability,
  classifyKafkaError,
  createConsumer,
  createIdempotentProducer,
  createKafka,
  fetchDlqPartitions,
  KAFKA_COMPONENTS,
  type KafkaComponent,
  kafkaGrants,
  kafkaSecurityEnv,
  loadKafkaSecurity,
  PAYCTL_DLQ_READ_GROUP_PREFIX,
} from '@paysync/kafka';
import { createIsolatedTopics, eventually, testKafka, uniqueName } from '@paysync/testkit';
import type { Kafka } from 'kafkajs';
import { upsertScramUsers } from '../../scripts/kafka/scram.ts';
import { awaitSignIn, localSecureKafka } from '../kafka/secure.ts';

// paysync's per-component Kafka ACLs (packages/kafka/src/acls.ts) on the local broker's
// SASL_PLAINTEXT listener, where the StandardAuthorizer applies them to SCRAM principals: every
// component can do its part with its own user, configured through the services' variables
// (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*), and what it is not granted is refused by the broker.
// Runs on the local servers of scripts/infra.ts (or a broker named by PAYSYNC_KAFKA_SASL_BROKERS
// that shares KAFKA_BROKERS' cluster), not on testcontainers' broker, which has no SASL listener.

const local = await localSecureKafka();
const saslBrokers = local.sasl;

/** Every ACL of the broker (kafkajs' ANY for type, pattern, operation and permission). */
const ANY_ACL = { resourceType: 1, resourcePatternType: 1, operation: 1, permissionType: 1 } as const;

const prefix = uniqueName('acl');
const topics = topicNames(prefix);
const groups = { ledger: `${prefix}-ledger`, alerting: `${prefix}-alerting` };
const user = (c: string) => `paysync-test-${c}`;
const secrets = mkdtempSync(join(tmpdir(), 'paysync-kafka-acls-'));
const passwords = new Map<string, string>();
const clients: { disconnect: () => Promise<void> }[] = [];

/** A client configured as a service is: the variables, the password from a file. */
function kafkaAs(name: string, passwordFile?: string): Kafka {
  const file = passwordFile ?? join(secrets, name);
  const env = {
    KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: name,
    KAFKA_SASL_PASSWORD_FILE: file,
  };
  const security = loadKafkaSecurity(
    'kafka-acls-test',
    loadConfig('kafka-acls-test', kafkaSecurityEnv, env),
    env,
  );
  return createKafka({ brokers: [saslBrokers as string], clientId: `${prefix}-${name}`, ...security });
}

async function producerOf(component: KafkaComponent | 'intruder') {
  const producer = createIdempotentProducer(kafkaAs(user(component)));
  clients.push(producer);
  await producer.connect();
  return producer;
}

function send(producer: Awaited<ReturnType<typeof producerOf>>, topic: string, key: string) {
  return producer.send({ topic, acks: -1, messages: [{ key, value: key }] });
}

/** Consumes `topic` from the beginning with `groupId` until every key of `keys` was seen. */
async function consumeAll(kafka: Kafka, topic: string, groupId: string, keys: string[]): Promise<void> {
  const consumer = createConsumer(kafka, { groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
  clients.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Set<string>();
  await consumer.run({ eachMessage: async ({ message }) => void seen.add(String(message.key)) });
  await eventually(`${groupId} reads ${keys.length} messages of ${topic}`, async () =>
    keys.every((k) => seen.has(k)) ? true : undefined,
  );
  await consumer.disconnect();
}

/** A Kafka error's type (TOPIC_AUTHORIZATION_FAILED, …), through kafkajs' wrappers. */
function errorType(err: unknown): string {
  const e = err as { type?: string; cause?: unknown; originalError?: unknown } | undefined;
  if (e?.type) return e.type;
  if (e?.originalError) return errorType(e.originalError);
  if (e?.cause) return errorType(e.cause);
  return String(err);
}

/** The Kafka error type a refused call rejects with. */
async function refusal(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    return errorType(err);
  }
  throw new Error('the call was allowed');
}

(saslBrokers ? describe : describe.skip)('Kafka ACLs per component (SCRAM, StandardAuthorizer)', () => {
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const names = [...KAFKA_COMPONENTS.map(user), user('intruder')];
    for (const name of names) {
      const password = randomBytes(18).toString('base64url');
      passwords.set(name, password);
      writeFileSync(join(secrets, name), `${password}\n`, { mode: 0o600 });
    }
    // Users and ACLs are created through the PLAINTEXT listener, whose clients are super users.
    await upsertScramUsers(
      local.plaintext,
      names.map((name) => ({ mechanism: 'SCRAM-SHA-512', name, password: passwords.get(name) as string })),
    );
    // The broker learns of users and ACLs from the metadata log, a moment after the controller
    // accepted them: wait until every user signs in, and until the broker lists every ACL.
    for (const name of names) await awaitSignIn(name, () => kafkaAs(name));
    const isolated = await createIsolatedTopics(Object.values(topics), 2);
    cleanups.push(isolated.remove);
    const acl = KAFKA_COMPONENTS.flatMap((c) => aclEntries(user(c), kafkaGrants(c, topics, groups)));
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await admin.createAcls({ acl });
      const principals = new Set(KAFKA_COMPONENTS.map((c) => `User:${user(c)}`));
      const ours = new Set([...Object.values(topics), ...Object.values(groups)]);
      await eventually(`the broker applies ${acl.length} ACLs`, async () => {
        const { resources } = await admin.describeAcls(ANY_ACL);
        const listed = resources
          .filter(
            (r) =>
              ours.has(r.resourceName) ||
              r.resourceName === DLQ_HANDLED_GROUP ||
              r.resourceName === PAYCTL_DLQ_READ_GROUP_PREFIX,
          )
          .flatMap((r) => r.acls.filter((a) => principals.has(a.principal)));
        return listed.length >= acl.length ? true : undefined;
      });
      cleanups.push(async () => {
        const a = testKafka().admin();
        await a.connect();
        await a.deleteAcls({ filters: acl }).finally(() => a.disconnect());
      });
    } finally {
      await admin.disconnect();
    }
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) await c.disconnect().catch(() => {});
    for (const cleanup of cleanups.reverse()) await cleanup();
    rmSync(secrets, { recursive: true, force: true });
  });

  it('lets every component do its part with its own principal', async () => {
    // Producers of observations: the receiver and the order service (which also check the topic's
    // settings), the reconciler, the operator and payctl; the last three also publish alerts.
    const observed: string[] = [];
    const alerted: string[] = [];
    for (const edge of ['receiver', 'orders'] as const) {
      const edgeAdmin = kafkaAs(user(edge)).admin();
      clients.push(edgeAdmin);
      await edgeAdmin.connect();
      expect(await checkTopicDurability(edgeAdmin, topics.paymentObservations)).toMatchObject({
        replicationFactor: 1,
        minInsyncReplicas: 1,
      });
      const configs = await edgeAdmin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: topics.paymentObservations, configNames: ['min.insync.replicas'] }],
      });
      expect(configs.resources[0]).toMatchObject({ errorCode: 0, configEntries: [{ configValue: '1' }] });
    }
    for (const component of ['receiver', 'orders', 'reconciler', 'operator', 'payctl'] as const) {
      const producer = await producerOf(component);
      await send(producer, topics.paymentObservations, `obs-${component}`);
      observed.push(`obs-${component}`);
      if (component !== 'receiver' && component !== 'orders') {
        await send(producer, topics.alerts, `alert-${component}`);
        alerted.push(`alert-${component}`);
      }
    }

    // The ledger consumes them with its group, then settles, dead-letters and alerts.
    const ledgerKafka = kafkaAs(user('ledger'));
    await consumeAll(ledgerKafka, topics.paymentObservations, groups.ledger, observed);
    const ledger = await producerOf('ledger');
    await send(ledger, topics.orderSettled, 'settled-1');
    await send(ledger, topics.paymentObservationsDlq, 'dead-1');
    await send(ledger, topics.alerts, 'alert-ledger');
    alerted.push('alert-ledger');
    const ledgerAdmin = ledgerKafka.admin();
    clients.push(ledgerAdmin);
    await ledgerAdmin.connect();
    const dlq = await fetchDlqPartitions(ledgerAdmin, topics.paymentObservationsDlq);
    expect(dlq.reduce((n, p) => n + Number(p.high), 0)).toBe(1);

    // The alerting service reads every alert with its group.
    await consumeAll(kafkaAs(user('alerting')), topics.alerts, groups.alerting, alerted);

    // payctl reads the DLQ with a throwaway group, deletes it, and moves the handled offset.
    const payctlKafka = kafkaAs(user('payctl'));
    const readGroup = `${PAYCTL_DLQ_READ_GROUP_PREFIX}${prefix}`;
    await consumeAll(payctlKafka, topics.paymentObservationsDlq, readGroup, ['dead-1']);
    const payctlAdmin = payctlKafka.admin();
    clients.push(payctlAdmin);
    await payctlAdmin.connect();
    await payctlAdmin.deleteGroups([readGroup]);
    await payctlAdmin.setOffsets({
      groupId: DLQ_HANDLED_GROUP,
      topic: topics.paymentObservationsDlq,
      partitions: dlq.map((p) => ({ partition: p.partition, offset: String(p.high) })),
    });
  }, 120_000);

  it('refuses observations from a principal that may not produce them', async () => {
    // A known user without any grant: its idempotent producer may not even start.
    // A known user without any grant, and the alerting service, which writes no topic: their
    // idempotent producers may not even start (no Write anywhere, so no producer id).
    for (const component of ['intruder', 'alerting'] as const) {
      const forged = refusal(async () =>
        send(await producerOf(component), topics.paymentObservations, `forged-${component}`),
      );
      expect(await forged).toBe('CLUSTER_AUTHORIZATION_FAILED');
    }
    // The ledger writes other topics, not this one.
    const ledger = await producerOf('ledger');
    expect(await refusal(() => send(ledger, topics.paymentObservations, 'forged-ledger'))).toBe(
      'TOPIC_AUTHORIZATION_FAILED',
    );
    // The order service publishes observations only: not a settlement, not an alert.
    const orders = await producerOf('orders');
    for (const topic of [topics.orderSettled, topics.alerts]) {
      expect(await refusal(() => send(orders, topic, 'forged-orders'))).toBe('TOPIC_AUTHORIZATION_FAILED');
    }
    // Nothing forged reached the topic.
    const admin = testKafka().admin();
    await admin.connect();
    const offsets = await admin
      .fetchTopicOffsets(topics.paymentObservations)
      .finally(() => admin.disconnect());
    expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(5);
  }, 120_000);

  it('refuses the observation topic and the ledger group to others, and a wrong password', async () => {
    // payctl may consume (the DLQ, with its own groups) but not the observations.
    const payctl = createConsumer(kafkaAs(user('payctl')), {
      groupId: `${PAYCTL_DLQ_READ_GROUP_PREFIX}${prefix}-obs`,
    });
    clients.push(payctl);
    const crashed = new Promise<unknown>((done) =>
      payctl.on(payctl.events.CRASH, ({ payload }) => done(payload.error)),
    );
    await payctl.connect();
    await payctl.subscribe({ topic: topics.paymentObservations, fromBeginning: true });
    await payctl.run({ eachMessage: async () => {} });
    expect(errorType(await crashed)).toBe('TOPIC_AUTHORIZATION_FAILED');
    // Not granted is the deployment's state, never the records' fault: retry, never dead-letter.
    expect(classifyKafkaError(await crashed)).toBe('infrastructure');
    await payctl.disconnect();

    // Nobody but the ledger may see (or reset) the ledger's group. The broker answers the
    // order service's FindCoordinator with GROUP_AUTHORIZATION_FAILED, which kafkajs reports as a
    // coordinator not found; the ledger, asking the same broker the same thing, gets its offsets.
    const offsetsOfLedgerGroup = async (component: KafkaComponent) => {
      const admin = kafkaAs(user(component)).admin();
      clients.push(admin);
      await admin.connect();
      return admin.fetchOffsets({ groupId: groups.ledger, topics: [topics.paymentObservations] });
    };
    expect(await offsetsOfLedgerGroup('ledger')).toHaveLength(1);
    expect(await refusal(() => offsetsOfLedgerGroup('orders'))).toBe(
      'KafkaJSGroupCoordinatorNotFound: Failed to find group coordinator',
    );

    const wrong = join(secrets, 'wrong');
    writeFileSync(wrong, 'not-the-password\n');
    const producer = createIdempotentProducer(kafkaAs(user('ledger'), wrong));
    clients.push(producer);
    await expect(producer.connect()).rejects.toThrow(/invalid credentials with SASL mechanism SCRAM-SHA-512/);
  }, 120_000);
});
