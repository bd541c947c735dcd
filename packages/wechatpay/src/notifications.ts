import type { KeyObject } from 'node:crypto';
import { type ApiV3Key, aesGcmDecrypt, apiV3SecretKey } from './aead.ts';
import { MalformedError, UnreadableNotificationError } from './errors.ts';
import {
  type NotificationEnvelope,
  notificationEnvelopeSchema,
  parseJson,
  parseRefund,
  parseTransaction,
  parseWith,
  type WeChatRefund,
  type WeChatTransaction,
} from './schemas.ts';
import {
  type Clock,
  type SignedMessage,
  type VerificationKeySource,
  type VerifiedMessage,
  verifySignedMessage,
} from './verify-message.ts';

export interface NotificationVerifierOptions {
  keys: VerificationKeySource;
  /** The merchant's 32-byte APIv3 key. */
  apiV3Key: ApiV3Key;
  clock?: Clock;
  windowSeconds?: number;
}

interface NotificationFields {
  /** Notification id (WeChat may resend the same id; deduplicate by order, not by this). */
  id: string;
  eventType: string;
  createTime: string;
  envelope: NotificationEnvelope;
}

/** A notification's envelope and its decrypted resource. */
export type NotificationContent =
  | (NotificationFields & { kind: 'transaction'; transaction: WeChatTransaction })
  | (NotificationFields & { kind: 'refund'; refund: WeChatRefund })
  | (NotificationFields & { kind: 'other'; resource: unknown });

export type DecryptedNotification = VerifiedMessage & NotificationContent;

/**
 * Verifies and decrypts APIv3 notifications: headers and timestamp window, the RSA signature over the
 * raw body with the key named by `Wechatpay-Serial`, and only then AES-256-GCM decryption and parsing.
 * Throws only WeChatPayError subclasses.
 */
export class NotificationVerifier {
  readonly #keys: VerificationKeySource;
  readonly #apiV3Key: KeyObject;
  readonly #clock: Clock | undefined;
  readonly #windowSeconds: number | undefined;

  constructor(options: NotificationVerifierOptions) {
    this.#keys = options.keys;
    this.#apiV3Key = apiV3SecretKey(options.apiV3Key);
    this.#clock = options.clock;
    this.#windowSeconds = options.windowSeconds;
  }

  async verify(message: SignedMessage): Promise<DecryptedNotification> {
    const verified = await verifySignedMessage(message, {
      keys: this.#keys,
      ...(this.#clock ? { clock: this.#clock } : {}),
      ...(this.#windowSeconds !== undefined ? { windowSeconds: this.#windowSeconds } : {}),
    });
    try {
      return { ...verified, ...decryptNotification(message.body, this.#apiV3Key) };
    } catch (err) {
      if (err instanceof MalformedError && !(err instanceof UnreadableNotificationError))
        throw new UnreadableNotificationError(err.message, { cause: err });
      throw err;
    }
  }
}

/**
 * Parses a notification body and decrypts its resource with the APIv3 key (AES-256-GCM), checking
 * that `original_type` fits `event_type`. Call it only on a body whose signature verified.
 */
export function decryptNotification(body: Buffer | string, apiV3Key: ApiV3Key): NotificationContent {
  const envelope = parseWith(notificationEnvelopeSchema, parseJson(body, 'notification'), 'notification');
  const { resource } = envelope;
  const expectedType = expectedOriginalType(envelope.event_type);
  if (expectedType !== undefined && resource.original_type !== expectedType) {
    throw new MalformedError('resource.original_type does not match event_type');
  }
  const plaintext = aesGcmDecrypt(
    apiV3SecretKey(apiV3Key),
    resource.nonce,
    resource.associated_data ?? '',
    resource.ciphertext,
  );
  const data = parseJson(plaintext, 'decrypted resource');
  const fields: NotificationFields = {
    id: envelope.id,
    eventType: envelope.event_type,
    createTime: envelope.create_time,
    envelope,
  };
  if (resource.original_type === 'transaction')
    return { ...fields, kind: 'transaction', transaction: parseTransaction(data) };
  if (resource.original_type === 'refund') return { ...fields, kind: 'refund', refund: parseRefund(data) };
  return { ...fields, kind: 'other', resource: data };
}

function expectedOriginalType(eventType: string): string | undefined {
  if (eventType.startsWith('TRANSACTION.')) return 'transaction';
  if (eventType.startsWith('REFUND.')) return 'refund';
  return undefined;
}
