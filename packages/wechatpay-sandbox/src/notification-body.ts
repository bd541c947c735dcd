import { randomUUID } from 'node:crypto';
import { buildNotificationBody, encryptResource } from '@paysync/wechatpay';
import { beijingTime } from './time.ts';

export type EventType = 'TRANSACTION.SUCCESS' | 'REFUND.SUCCESS' | 'REFUND.ABNORMAL' | 'REFUND.CLOSED';

const SUMMARY: Record<EventType, string> = {
  'TRANSACTION.SUCCESS': '支付成功',
  'REFUND.SUCCESS': '退款成功',
  'REFUND.ABNORMAL': '退款异常',
  'REFUND.CLOSED': '退款关闭',
};

export interface BuiltNotification {
  id: string;
  createTime: string;
  /** The exact bytes POSTed (and signed) on every delivery of this notification. */
  body: string;
}

/**
 * A notification body exactly as WeChat sends it: the resource JSON encrypted with the merchant's
 * APIv3 key (AES-256-GCM, 12-character nonce, associated_data = original type).
 */
export function createNotification(
  eventType: EventType,
  resource: object,
  apiV3Key: string,
  now: number,
  corrupt = false,
): BuiltNotification {
  const originalType = eventType === 'TRANSACTION.SUCCESS' ? 'transaction' : 'refund';
  const id = randomUUID();
  const createTime = beijingTime(now);
  const encrypted = encryptResource({ apiV3Key, originalType, data: resource });
  if (corrupt) encrypted.ciphertext = flipLastByte(encrypted.ciphertext);
  const body = buildNotificationBody({
    id,
    createTime,
    eventType,
    summary: SUMMARY[eventType],
    resource: encrypted,
  });
  return { id, createTime, body };
}

/** Flips one bit of the GCM tag (the last byte of the decoded ciphertext). */
function flipLastByte(ciphertextB64: string): string {
  const raw = Buffer.from(ciphertextB64, 'base64');
  raw[raw.length - 1] = (raw[raw.length - 1] as number) ^ 0x01;
  return raw.toString('base64');
}
