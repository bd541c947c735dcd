import type { ReadinessCheck } from '@paysync/observability';
import type { VerificationKeyStore } from '@paysync/wechatpay';

/**
 * How long the Kafka producer may be unusable before a gateway stops taking traffic. One failed
 * write replaces the producer (about a second): every replica seeing the same broker hiccup must
 * not turn unready together, or the ingress answers WeChat 503 for all of them.
 */
export const KAFKA_UNREADY_AFTER_MS = 15_000;

/** Throws unless at least one platform certificate or WeChat Pay public key can verify notifications. */
export function keysLoaded(store: Pick<VerificationKeyStore, 'serials'>): void {
  const { certificates, publicKeys } = store.serials();
  if (certificates.length + publicKeys.length === 0) throw new Error('no verification key is loaded');
}

/** Throws when the observation publisher has had no usable producer for longer than the grace. */
export function producerAvailable(
  publisher: { unavailableForMs(): number },
  graceMs = KAFKA_UNREADY_AFTER_MS,
): void {
  const down = publisher.unavailableForMs();
  if (down > graceMs)
    throw new Error(`the Kafka producer has been unavailable for ${Math.round(down / 1000)} s`);
}

/**
 * The gateway's readiness: exactly what accepting a notification needs — Kafka and the keys.
 * MySQL is not part of it: with the database down every replica would turn unready and the ingress
 * would answer WeChat 503 for notifications that could have been accepted; the order API answers
 * 503 DATABASE_UNAVAILABLE itself instead.
 */
export function gatewayReadiness(deps: {
  publisher: { unavailableForMs(): number };
  keyStore: Pick<VerificationKeyStore, 'serials'>;
}): ReadinessCheck[] {
  return [
    { name: 'kafka producer', check: async () => producerAvailable(deps.publisher) },
    { name: 'verification keys', check: async () => keysLoaded(deps.keyStore) },
  ];
}
