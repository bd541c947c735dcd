import { describe, expect, it } from '@jest/globals';
import { topicNames } from '@paysync/contracts';
import { aclEntries, KAFKA_COMPONENTS, kafkaGrants } from '../../src/index.ts';

// Who may touch the observation topic is the heart of the ACLs: the integration test proves the
// broker enforces them; this pins the table itself (docs/operations.md shows the same).

const topics = topicNames('p');

function componentsThat(topic: string, operation: 'READ' | 'WRITE'): string[] {
  return KAFKA_COMPONENTS.filter((c) =>
    kafkaGrants(c, topics).some(
      (g) => g.resource === 'TOPIC' && g.name === topic && g.operations.includes(operation),
    ),
  );
}

describe('Kafka ACLs per component', () => {
  it('lets only the receiver, the order service, reconciler, operator and payctl produce observations, and only the ledger consume them', () => {
    expect(componentsThat(topics.paymentObservations, 'WRITE')).toEqual([
      'receiver',
      'orders',
      'reconciler',
      'operator',
      'payctl',
    ]);
    expect(componentsThat(topics.paymentObservations, 'READ')).toEqual(['ledger']);
  });

  it('lets only the ledger produce order-settled and dead letters, and only alerting consume alerts', () => {
    expect(componentsThat(topics.orderSettled, 'WRITE')).toEqual(['ledger']);
    expect(componentsThat(topics.paymentObservationsDlq, 'WRITE')).toEqual(['ledger']);
    expect(componentsThat(topics.paymentObservationsDlq, 'READ')).toEqual(['payctl']);
    expect(componentsThat(topics.alerts, 'READ')).toEqual(['alerting']);
  });

  it('grants one ALLOW entry per operation to User:<name>, a prefix only for payctl’s throwaway groups', () => {
    const entries = aclEntries('paysync-payctl', kafkaGrants('payctl', topics));
    expect(new Set(entries.map((e) => e.principal))).toEqual(new Set(['User:paysync-payctl']));
    expect(entries.every((e) => e.permissionType === 3 && e.host === '*')).toBe(true);
    expect(entries.filter((e) => e.resourcePatternType === 4).map((e) => e.resourceName)).toEqual([
      'payctl-dlq-',
      'payctl-dlq-',
      'payctl-dlq-',
    ]);
  });
});
