import { WeChatPayError } from '@paysync/wechatpay';

/** An error the gateway answers with a definite status and code. Messages carry no secrets. */
export class GatewayError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
  }
}

/** A verified notification for another merchant or app than ours. */
export class MerchantMismatchError extends GatewayError {
  constructor(what: 'mchid' | 'appid') {
    super('MERCHANT_MISMATCH', 403, `the notification's ${what} is not this gateway's`);
  }
}

/** Kafka did not acknowledge the observation in time (or refused it): WeChat must retry. */
export class PublishFailedError extends GatewayError {
  readonly reason: 'timeout' | 'error';

  constructor(reason: 'timeout' | 'error', options?: { cause?: unknown }) {
    super(
      'KAFKA_UNAVAILABLE',
      503,
      reason === 'timeout' ? 'Kafka did not acknowledge in time' : 'Kafka refused the write',
      options,
    );
    this.reason = reason;
  }
}

/** Too many requests in flight: answered at once instead of queueing. */
export class BusyError extends GatewayError {
  constructor() {
    super('BUSY', 503, 'too many requests in flight');
  }
}

export class ShuttingDownError extends GatewayError {
  constructor() {
    super('SHUTTING_DOWN', 503, 'the gateway is shutting down');
  }
}

/** Signature-related failures, all 401: the request is not proven to come from WeChat Pay. */
const UNAUTHENTICATED = new Set([
  'MISSING_HEADER',
  'UNSUPPORTED_SIGNATURE_TYPE',
  'STALE_TIMESTAMP',
  'UNKNOWN_SERIAL',
  'BAD_SIGNATURE',
]);

export type CallbackFailure = { status: number; code: string; message: string };

/**
 * The one mapping from anything a callback can throw to its answer. WeChat only distinguishes
 * 2xx from the rest; the 4xx/5xx split tells operators whose side the problem is on.
 */
export function callbackFailure(err: unknown): CallbackFailure {
  if (err instanceof GatewayError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof WeChatPayError) {
    if (UNAUTHENTICATED.has(err.code))
      return { status: 401, code: err.code, message: 'not signed by WeChat Pay' };
    // MALFORMED, DECRYPT_FAILED: signed (or not even that far) but unusable.
    return { status: 400, code: err.code, message: 'notification cannot be used' };
  }
  const bodyError = err as { type?: string; status?: number };
  if (bodyError?.type === 'entity.too.large') {
    return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'body too large' };
  }
  if (typeof bodyError?.type === 'string' && typeof bodyError.status === 'number' && bodyError.status < 500) {
    return { status: 400, code: 'BAD_REQUEST', message: 'request body could not be read' };
  }
  return { status: 500, code: 'INTERNAL_ERROR', message: 'internal error' };
}
