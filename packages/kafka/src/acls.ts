import { DLQ_HANDLED_GROUP, type TopicNames } from '@paysync/contracts';
import type {
  AclEntry,
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  ResourcePatternTypes,
} from 'kafkajs';

// Who may do what on paysync's Kafka topics and groups: one grant list per component, applied per
// principal (User:<KAFKA_SASL_USERNAME>) by scripts/kafka/acls.ts and checked against a real broker
// with the StandardAuthorizer by test/integration/kafka-acls.test.ts. docs/operations.md shows the
// same table. Nothing is granted on the cluster: an idempotent producer needs Write on a topic only.

export const KAFKA_COMPONENTS = [
  'receiver',
  'orders',
  'ledger',
  'reconciler',
  'operator',
  'alerting',
  'payctl',
] as const;
export type KafkaComponent = (typeof KAFKA_COMPONENTS)[number];

export type AclOperation = 'READ' | 'WRITE' | 'DESCRIBE' | 'DESCRIBE_CONFIGS' | 'DELETE';
export type AclGrant = {
  resource: 'TOPIC' | 'GROUP';
  /** A literal name, or every name starting with it when `prefixed`. */
  name: string;
  prefixed?: boolean;
  operations: readonly AclOperation[];
};

/** The consumer groups the grants refer to (each component's configured group id). */
export type KafkaGroups = {
  /** LEDGER_GROUP_ID */
  ledger: string;
  /** ALERTING_GROUP_ID */
  alerting: string;
};

export const DEFAULT_KAFKA_GROUPS: KafkaGroups = {
  ledger: 'paysync-points-ledger',
  alerting: 'paysync-alerting',
};

/** payctl's `dlq read` consumes with a throwaway group of this prefix and deletes it afterwards. */
export const PAYCTL_DLQ_READ_GROUP_PREFIX = 'payctl-dlq-';

const produce: readonly AclOperation[] = ['WRITE', 'DESCRIBE'];
const consume: readonly AclOperation[] = ['READ', 'DESCRIBE'];

/** What each component must be able to do, and nothing more. */
export function kafkaGrants(
  component: KafkaComponent,
  topics: TopicNames,
  groups: KafkaGroups = DEFAULT_KAFKA_GROUPS,
): AclGrant[] {
  switch (component) {
    case 'receiver':
    case 'orders':
      // The public receiver (what WeChat Pay notifies) and the private order service (what a
      // confirmation or a refund learns from WeChat Pay) publish observations, nothing else; both
      // check the topic's durability settings at start-up. Two principals with the same grants, so
      // either one's password can be revoked alone.
      return [
        { resource: 'TOPIC', name: topics.paymentObservations, operations: [...produce, 'DESCRIBE_CONFIGS'] },
      ];
    case 'reconciler':
    case 'operator':
      // Publish what WeChat Pay reports (observations) and the alerts of a sweep or repair.
      return [
        { resource: 'TOPIC', name: topics.paymentObservations, operations: produce },
        { resource: 'TOPIC', name: topics.alerts, operations: produce },
      ];
    case 'ledger':
      // The one consumer of observations; settles orders, dead-letters, alerts, and reads the
      // DLQ's handled offset for its gauge.
      return [
        { resource: 'TOPIC', name: topics.paymentObservations, operations: consume },
        { resource: 'GROUP', name: groups.ledger, operations: consume },
        { resource: 'TOPIC', name: topics.orderSettled, operations: produce },
        { resource: 'TOPIC', name: topics.paymentObservationsDlq, operations: produce },
        { resource: 'TOPIC', name: topics.alerts, operations: produce },
        { resource: 'GROUP', name: DLQ_HANDLED_GROUP, operations: ['DESCRIBE'] },
      ];
    case 'alerting':
      return [
        { resource: 'TOPIC', name: topics.alerts, operations: consume },
        { resource: 'GROUP', name: groups.alerting, operations: consume },
      ];
    case 'payctl':
      // sync/repair/replay publish observations (and alerts); dlq read/retry/resolve read the DLQ
      // with a throwaway group and move the handled offset.
      return [
        { resource: 'TOPIC', name: topics.paymentObservations, operations: produce },
        { resource: 'TOPIC', name: topics.alerts, operations: produce },
        { resource: 'TOPIC', name: topics.paymentObservationsDlq, operations: consume },
        {
          resource: 'GROUP',
          name: PAYCTL_DLQ_READ_GROUP_PREFIX,
          prefixed: true,
          operations: [...consume, 'DELETE'],
        },
        { resource: 'GROUP', name: DLQ_HANDLED_GROUP, operations: consume },
      ];
  }
}

// kafkajs' enums, by value: the package is CommonJS and Node's ESM loader does not expose them as
// named exports (the values are the Kafka protocol's).
const RESOURCE = { TOPIC: 2, GROUP: 3 } as const;
const OPERATION: Record<AclOperation, number> = {
  READ: 3,
  WRITE: 4,
  DELETE: 6,
  DESCRIBE: 8,
  DESCRIBE_CONFIGS: 10,
};
const PATTERN = { LITERAL: 3, PREFIXED: 4 } as const;
const ALLOW = 3;

/** The grants as kafkajs ACL entries for `User:<username>`, one per operation. */
export function aclEntries(username: string, grants: readonly AclGrant[]): AclEntry[] {
  return grants.flatMap((g) =>
    g.operations.map((op) => ({
      principal: `User:${username}`,
      host: '*',
      operation: OPERATION[op] as AclOperationTypes,
      permissionType: ALLOW as AclPermissionTypes,
      resourceType: RESOURCE[g.resource] as AclResourceTypes,
      resourceName: g.name,
      resourcePatternType: (g.prefixed ? PATTERN.PREFIXED : PATTERN.LITERAL) as ResourcePatternTypes,
    })),
  );
}
