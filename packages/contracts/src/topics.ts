/**
 * Kafka topic names. The version is part of the name: an incompatible schema change gets a new
 * topic, so old and new producers never share one.
 */
export const TOPICS = {
  paymentObservations: 'paysync.payment-observations.v1',
  orderSettled: 'paysync.order-settled.v1',
  alerts: 'paysync.alerts.v1',
  paymentObservationsDlq: 'paysync.payment-observations.dlq.v1',
} as const;

/**
 * The consumer group whose committed offset on the DLQ topic marks how far operators have handled
 * the dead letters (`payctl dlq resolve`, `payctl dlq retry --resolve`): every entry below it, per
 * partition, is handled. Nobody consumes with it; the ledger's `paysync_ledger_dlq_messages` gauge is
 * the DLQ's end offset minus this group's offset.
 */
export const DLQ_HANDLED_GROUP = 'paysync-dlq-handled';

export type TopicKey = keyof typeof TOPICS;
export type TopicName = (typeof TOPICS)[TopicKey];

export const ALL_TOPICS: readonly TopicName[] = Object.values(TOPICS);

export type TopicNames = { [K in TopicKey]: string };

/**
 * The topic names a deployment uses: the canonical names, or each behind a prefix
 * (`<prefix>.<canonical>`) when several environments share one cluster, or tests isolate runs.
 * Message contracts always follow the canonical name.
 */
export function topicNames(prefix?: string): TopicNames {
  if (prefix !== undefined && prefix !== '' && !/^[a-zA-Z0-9._-]{1,100}$/.test(prefix)) {
    throw new Error(`invalid Kafka topic prefix: ${prefix}`);
  }
  const names = {} as TopicNames;
  for (const [key, name] of Object.entries(TOPICS) as [TopicKey, string][]) {
    names[key] = prefix ? `${prefix}.${name}` : name;
  }
  return names;
}
