import { randomUUID } from 'node:crypto';
import type { PaymentObservation } from '@paysync/contracts';
import { type QueryAnswer, queryObservation } from '@paysync/orders';

/** Who produced an observation, and for operator runs who asked and why. */
export type ObservationOrigin = {
  producer: string;
  actor?: string | undefined;
  reason?: string | undefined;
};

/** A query's signed answer as an observation (source `query`), WeChat's answer its evidence. */
export function answerObservation(
  answer: QueryAnswer,
  order: { outTradeNo: string; mchid: string },
  origin: ObservationOrigin,
  observedAt: Date,
): PaymentObservation {
  return queryObservation(answer, order, {
    observationId: randomUUID(),
    source: 'query',
    observedAt,
    producer: origin.producer,
    actor: origin.actor,
    reason: origin.reason,
  });
}
