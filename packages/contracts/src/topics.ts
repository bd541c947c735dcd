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

export type TopicKey = keyof typeof TOPICS;
export type TopicName = (typeof TOPICS)[TopicKey];

export const ALL_TOPICS: readonly TopicName[] = Object.values(TOPICS);
