import type { PaymentObservation } from '@paysync/contracts';
import {
  buildObservation,
  notificationEvidence,
  type ObservedContent,
  refundContent,
  transactionContent,
  v2Content,
  v2NotificationEvidence,
} from '@paysync/orders';
import type { DecryptedNotification, HeaderInput, V2Notification } from '@paysync/wechatpay';
import { MerchantMismatchError } from './errors.ts';

export const PRODUCER = 'callback-gateway';

export type Merchant = { mchid: string; appids: readonly string[] };

/** When the notification was received, and the id its observation carries. */
export type ReceivedContext = { observedAt: Date; observationId: string };

/** Refuses anything that is not for our merchant and app (a verified message can still be misrouted). */
export function checkMerchant(merchant: Merchant, content: ObservedContent): void {
  if (content.mchid !== merchant.mchid) throw new MerchantMismatchError('mchid');
  if (content.appid !== undefined && !merchant.appids.includes(content.appid)) {
    throw new MerchantMismatchError('appid');
  }
}

/**
 * The observation a verified APIv3 notification carries, with the notification itself as evidence,
 * after checking it is for our merchant; undefined for a resource type paysync does not act on.
 */
export function notificationObservation(
  n: DecryptedNotification,
  received: { headers: HeaderInput; body: Buffer },
  merchant: Merchant,
  ctx: ReceivedContext,
): PaymentObservation | undefined {
  if (n.kind === 'other') return undefined;
  const content = n.kind === 'transaction' ? transactionContent(n.transaction) : refundContent(n.refund);
  checkMerchant(merchant, content);
  return buildObservation(
    content,
    {
      ...ctx,
      source: 'notification',
      producer: PRODUCER,
      notificationId: n.id,
      wechatRequestId: n.requestId,
    },
    notificationEvidence(received.headers, received.body),
  );
}

/** A verified, paid APIv2 notification as an observation, the XML itself as evidence. */
export function v2Observation(
  n: V2Notification,
  body: Buffer,
  merchant: Merchant,
  ctx: ReceivedContext,
): PaymentObservation {
  const content = v2Content(n);
  checkMerchant(merchant, content);
  return buildObservation(
    content,
    { ...ctx, source: 'notification', producer: PRODUCER },
    v2NotificationEvidence(body),
  );
}
