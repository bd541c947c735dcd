// The local broker's authenticated listeners for the tests that need them (Kafka ACLs, TLS, the
// order service's own principal): where they are, and how to give a SCRAM user its ACLs and wait
// until the broker applies them. Users and ACLs are made through the PLAINTEXT listener, whose
// clients are super users.
import { eventually, infraCommand, testKafka } from '@paysync/testkit';
import type { AclEntry, Kafka } from 'kafkajs';

/** kafkajs' ANY for type, pattern, operation and permission: every ACL of the broker. */
const ANY_ACL = { resourceType: 1, resourcePatternType: 1, operation: 1, permissionType: 1 } as const;

export type LocalSecureKafka = {
  /** The PLAINTEXT listener of the local servers (scripts/infra.ts). */
  plaintext: string;
  /** SASL_PLAINTEXT (SCRAM, ACLs), when the tests run on the local servers. */
  sasl: string | undefined;
  /** SASL_SSL and the CA that signed its certificate, when the tests run on the local servers. */
  ssl: string | undefined;
  caFile: string | undefined;
};

/**
 * The local servers' authenticated listeners, when KAFKA_BROKERS is their PLAINTEXT listener
 * (PAYSYNC_KAFKA_SASL_BROKERS may name another broker of the same cluster); testcontainers' broker
 * has none.
 */
export async function localSecureKafka(): Promise<LocalSecureKafka> {
  const local = JSON.parse(await infraCommand('env', '--json')) as {
    KAFKA_BROKERS: string;
    PAYSYNC_KAFKA_SASL_BROKERS?: string;
    PAYSYNC_KAFKA_SSL_BROKERS?: string;
    PAYSYNC_KAFKA_SSL_CA_FILE?: string;
  };
  const ours = process.env.KAFKA_BROKERS === local.KAFKA_BROKERS;
  return {
    plaintext: local.KAFKA_BROKERS,
    sasl: process.env.PAYSYNC_KAFKA_SASL_BROKERS ?? (ours ? local.PAYSYNC_KAFKA_SASL_BROKERS : undefined),
    ssl: ours ? local.PAYSYNC_KAFKA_SSL_BROKERS : undefined,
    caFile: ours ? local.PAYSYNC_KAFKA_SSL_CA_FILE : undefined,
  };
}

/**
 * Creates `acl` and waits until the broker lists every entry (it learns of them from the metadata
 * log a moment after the controller accepted them). Returns what removes them again.
 */
export async function applyAcls(acl: AclEntry[]): Promise<() => Promise<void>> {
  const principals = new Set(acl.map((a) => a.principal));
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await admin.createAcls({ acl });
    await eventually(`the broker applies ${acl.length} ACLs`, async () => {
      const { resources } = await admin.describeAcls(ANY_ACL);
      const listed = resources.flatMap((r) => r.acls.filter((a) => principals.has(a.principal)));
      return listed.length >= acl.length ? true : undefined;
    });
  } finally {
    await admin.disconnect();
  }
  return async () => {
    const a = testKafka().admin();
    await a.connect();
    await a.deleteAcls({ filters: acl }).finally(() => a.disconnect());
  };
}

/** Waits until `name` can sign in (a new SCRAM user reaches the broker through the metadata log). */
export async function awaitSignIn(name: string, kafka: () => Kafka): Promise<void> {
  await eventually(`${name} signs in`, async () => {
    const admin = kafka().admin();
    try {
      await admin.connect();
      return true;
    } catch {
      return undefined;
    } finally {
      await admin.disconnect();
    }
  });
}
