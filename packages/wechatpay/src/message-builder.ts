import type { KeyObject } from 'node:crypto';
import { aesGcmEncrypt } from './aead.ts';
import { WECHATPAY_HEADERS, WECHATPAY_SIGNATURE_TYPE } from './constants.ts';
import { messageSignString, randomNonce, rsaSign } from './sign.ts';

/**
 * The sending side of WeChat's formats, for the sandbox and tests: sign a message the way WeChat signs
 * responses and notifications, and encrypt a resource the way WeChat encrypts it.
 */

export interface SignedHeadersInput {
  privateKey: KeyObject | string;
  /** Platform certificate serial or `PUB_KEY_ID_…`. */
  serial: string;
  body: string | Buffer;
  /** Unix seconds. */
  timestamp: string | number;
  nonce?: string;
  requestId?: string;
  /** Replace the signature (e.g. a `WECHATPAY/SIGNTEST/` probe). */
  signatureOverride?: string;
}

export function buildSignedHeaders(input: SignedHeadersInput): Record<string, string> {
  const nonce = input.nonce ?? randomNonce();
  const signature =
    input.signatureOverride ??
    rsaSign(input.privateKey, messageSignString(input.timestamp, nonce, input.body));
  return {
    [WECHATPAY_HEADERS.serial]: input.serial,
    [WECHATPAY_HEADERS.signature]: signature,
    [WECHATPAY_HEADERS.timestamp]: String(input.timestamp),
    [WECHATPAY_HEADERS.nonce]: nonce,
    [WECHATPAY_HEADERS.signatureType]: WECHATPAY_SIGNATURE_TYPE,
    ...(input.requestId ? { [WECHATPAY_HEADERS.requestId]: input.requestId } : {}),
  };
}

export interface EncryptedResource {
  algorithm: 'AEAD_AES_256_GCM';
  ciphertext: string;
  associated_data: string;
  original_type: string;
  nonce: string;
}

/** Encrypts `data` (JSON-serialised) into a notification `resource`. The nonce is 12 characters. */
export function encryptResource(input: {
  apiV3Key: string | Buffer;
  originalType: string;
  data: unknown;
  associatedData?: string;
  nonce?: string;
}): EncryptedResource {
  const nonce = input.nonce ?? randomNonce().slice(0, 12);
  const associatedData = input.associatedData ?? input.originalType;
  return {
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext: aesGcmEncrypt(input.apiV3Key, nonce, associatedData, JSON.stringify(input.data)),
    associated_data: associatedData,
    original_type: input.originalType,
    nonce,
  };
}

export interface NotificationBodyInput {
  id: string;
  createTime: string;
  eventType: string;
  summary?: string;
  resource: EncryptedResource;
}

/** The JSON body WeChat POSTs to notify_url. */
export function buildNotificationBody(input: NotificationBodyInput): string {
  return JSON.stringify({
    id: input.id,
    create_time: input.createTime,
    resource_type: 'encrypt-resource',
    event_type: input.eventType,
    summary: input.summary ?? '支付成功',
    resource: input.resource,
  });
}
