import type { VerificationKeyStore } from '@paysync/wechatpay';

/** Throws unless at least one platform certificate or WeChat Pay public key can verify notifications. */
export function keysLoaded(store: Pick<VerificationKeyStore, 'serials'>): void {
  const { certificates, publicKeys } = store.serials();
  if (certificates.length + publicKeys.length === 0) throw new Error('no verification key is loaded');
}

/** Throws unless the observation publisher has a connected producer: a gateway that cannot write must not get traffic. */
export function producerConnected(publisher: { connected(): boolean }): void {
  if (!publisher.connected()) throw new Error('the Kafka producer is not connected');
}
