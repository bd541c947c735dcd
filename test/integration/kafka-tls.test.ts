import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '@paysync/config';
import {
  type AclGrant,
  aclEntries,
  createConsumer,
  createIdempotentProducer,
  createKafka,
  kafkaSecurityEnv,
  loadKafkaSecurity,
} from '@paysync/kafka';
import { createIsolatedTopics, eventually, uniqueName } from '@paysync/testkit';
import type { Kafka } from 'kafkajs';
import { makeCa } from '../../scripts/infra/tls.ts';
import { upsertScramUsers } from '../../scripts/kafka/scram.ts';
import { applyAcls, awaitSignIn, localSecureKafka } from '../kafka/secure.ts';

// TLS against a real broker: the local Kafka's SASL_SSL listener (scripts/infra/tls.ts made its
// certificate with a CA of this checkout). A client configured as a service is — SASL_SSL, SCRAM,
// KAFKA_SSL_CA_FILE — produces and consumes through it; with another CA, or none (the system's),
// the handshake is refused and the error names KAFKA_SSL_CA_FILE.

const local = await localSecureKafka();
const sslBrokers = local.ssl;
const caFile = local.caFile as string;

const prefix = uniqueName('tls');
const topic = `${prefix}.observations`;
const group = `${prefix}-group`;
const user = `${prefix}-client`;
const dir = mkdtempSync(join(tmpdir(), 'paysync-kafka-tls-'));
const passwordFile = join(dir, 'password');
const cleanups: (() => Promise<unknown>)[] = [];
const clients: { disconnect: () => Promise<void> }[] = [];

/** A client configured through the services' variables (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_CA_FILE). */
function kafkaWith(ca: string | undefined): Kafka {
  const env: Record<string, string> = {
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: user,
    KAFKA_SASL_PASSWORD_FILE: passwordFile,
    ...(ca ? { KAFKA_SSL_CA_FILE: ca } : {}),
  };
  const security = loadKafkaSecurity(
    'kafka-tls-test',
    loadConfig('kafka-tls-test', kafkaSecurityEnv, env),
    env,
  );
  return createKafka({ brokers: [sslBrokers as string], clientId: prefix, ...security });
}

/** A CA that signed nothing the broker holds. */
function otherCa(): string {
  return makeCa(dir, 'other-ca', '/CN=not the paysync local Kafka CA').caFile;
}

(sslBrokers ? describe : describe.skip)('Kafka over TLS (SASL_SSL, the local CA)', () => {
  beforeAll(async () => {
    const password = randomBytes(18).toString('base64url');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    await upsertScramUsers(local.plaintext, [{ mechanism: 'SCRAM-SHA-512', name: user, password }]);
    const isolated = await createIsolatedTopics([topic], 2);
    cleanups.push(() => isolated.remove());
    const grants: AclGrant[] = [
      { resource: 'TOPIC', name: topic, operations: ['WRITE', 'READ', 'DESCRIBE'] },
      { resource: 'GROUP', name: group, operations: ['READ', 'DESCRIBE'] },
    ];
    cleanups.push(await applyAcls(aclEntries(user, grants)));
    await awaitSignIn(user, () => kafkaWith(caFile));
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) await c.disconnect().catch(() => {});
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('produces and consumes with KAFKA_SSL_CA_FILE naming the CA that signed the broker', async () => {
    const kafka = kafkaWith(caFile);
    const producer = createIdempotentProducer(kafka);
    clients.push(producer);
    await producer.connect();
    const keys = ['a', 'b', 'c'].map((k) => `${k}-${randomBytes(4).toString('hex')}`);
    await producer.send({ topic, acks: -1, messages: keys.map((key) => ({ key, value: key })) });

    const consumer = createConsumer(kafka, {
      groupId: group,
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
    });
    clients.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = new Set<string>();
    await consumer.run({ eachMessage: async ({ message }) => void seen.add(String(message.value)) });
    await eventually('the consumer reads every message over TLS', async () =>
      keys.every((k) => seen.has(k)) ? true : undefined,
    );
    await consumer.disconnect();
  }, 60_000);

  it.each([
    ['another CA', () => otherCa()],
    ['only the system CAs', () => undefined],
  ])(
    'refuses the broker with %s, naming KAFKA_SSL_CA_FILE',
    async (_name, ca) => {
      const producer = createIdempotentProducer(kafkaWith(ca()));
      clients.push(producer);
      const refused = await producer.connect().then(
        () => undefined,
        (err: Error) => err,
      );
      expect(refused?.message).toMatch(
        /TLS certificate of the Kafka broker 127\.0\.0\.1:\d+ is not signed by a trusted CA \([A-Z_]+: .*\); KAFKA_SSL_CA_FILE must name the PEM file of the CA/,
      );
    },
    60_000,
  );
});
