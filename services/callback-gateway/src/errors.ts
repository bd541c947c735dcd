import { WeChatPayError, type WeChatPayErrorCode } from '@paysync/wechatpay';

/** The gateway's own error codes (README "Routes and answers"), each with its one status. */
export const GATEWAY_ERROR_STATUS = {
  MERCHANT_MISMATCH: 403,
  KAFKA_UNAVAILABLE: 503,
  BUSY: 503,
  SHUTTING_DOWN: 503,
} as const;
export type GatewayErrorCode = keyof typeof GATEWAY_ERROR_STATUS;

/** An error the gateway answers with a definite status and code. Messages carry no secrets. */
export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly status: number;

  constructor(code: GatewayErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = GATEWAY_ERROR_STATUS[code];
  }
}

/** A verified notification for another merchant or app than ours. */
export class MerchantMismatchError extends GatewayError {
  constructor(what: 'mchid' | 'appid') {
    super('MERCHANT_MISMATCH', `the notification's ${what} is not this gateway's`);
  }
}

/** Kafka did not acknowledge the observation in time (or refused it): WeChat must retry. */
export class PublishFailedError extends GatewayError {
  readonly reason: 'timeout' | 'error';

  constructor(reason: 'timeout' | 'error', options?: { cause?: unknown }) {
    super(
      'KAFKA_UNAVAILABLE',
      reason === 'timeout' ? 'Kafka did not acknowledge in time' : 'Kafka refused the write',
      options,
    );
    this.reason = reason;
  }
}

/** Too many requests in flight: answered at once instead of queueing. */
export class BusyError extends GatewayError {
  constructor() {
    super('BUSY', 'too many requests in flight');
  }
}

export class ShuttingDownError extends GatewayError {
  constructor() {
    super('SHUTTING_DOWN', 'the gateway is shutting down');
  }
}

/**
 * The `reason` labels of paysync_gateway_signature_failures_total (README "Metrics"): a signature
 * failure's own, WeChat's or paysync's probe, or an APIv2 signature that does not verify.
 */
export const SIGNATURE_FAILURE_REASONS = [
  'missing_header',
  'unsupported_signature_type',
  'stale_timestamp',
  'unknown_serial',
  'bad_signature',
  'probe',
  'bad_signature_v2',
] as const;
export type SignatureFailureReason = (typeof SIGNATURE_FAILURE_REASONS)[number];

/**
 * Each WeChatPayError code's answer to a notification. A signature failure is 401 (the request
 * is not proven to come from WeChat Pay) and counted under its `reason`; anything else the library
 * throws is 400: signed (or not even that far) but unusable.
 */
export const WECHATPAY_CALLBACK_ANSWER: Record<
  WeChatPayErrorCode,
  { status: 400 } | { status: 401; reason: SignatureFailureReason }
> = {
  MISSING_HEADER: { status: 401, reason: 'missing_header' },
  UNSUPPORTED_SIGNATURE_TYPE: { status: 401, reason: 'unsupported_signature_type' },
  STALE_TIMESTAMP: { status: 401, reason: 'stale_timestamp' },
  UNKNOWN_SERIAL: { status: 401, reason: 'unknown_serial' },
  BAD_SIGNATURE: { status: 401, reason: 'bad_signature' },
  INVALID_KEY: { status: 400 },
  MALFORMED: { status: 400 },
  DECRYPT_FAILED: { status: 400 },
  INVALID_CONFIG: { status: 400 },
  CERTIFICATE_INVALID: { status: 400 },
  API_ERROR: { status: 400 },
  ORDER_NOT_EXIST: { status: 400 },
  UNVERIFIED_ANSWER: { status: 400 },
  UNKNOWN_MERCHANT: { status: 400 },
  RATE_LIMITED: { status: 400 },
  SERVER_ERROR: { status: 400 },
  NETWORK_ERROR: { status: 400 },
  TIMEOUT: { status: 400 },
  CIRCUIT_OPEN: { status: 400 },
  INVALID_ARGUMENT: { status: 400 },
  CLIENT_CLOSED: { status: 400 },
  STATEMENT_CREATING: { status: 400 },
  NO_STATEMENT_EXIST: { status: 400 },
  BILL_INTEGRITY: { status: 400 },
};

/** The signature failure `reason` of an error, when it is one. */
export function signatureFailureReason(err: unknown): SignatureFailureReason | undefined {
  if (!(err instanceof WeChatPayError)) return undefined;
  const answer = WECHATPAY_CALLBACK_ANSWER[err.code];
  return 'reason' in answer ? answer.reason : undefined;
}

/** Every code a refused notification is answered (and, lower-cased, counted) with. */
export type CallbackFailureCode =
  | GatewayErrorCode
  | WeChatPayErrorCode
  | 'PAYLOAD_TOO_LARGE'
  | 'BAD_REQUEST'
  | 'INTERNAL_ERROR';

export type CallbackFailure = { status: number; code: CallbackFailureCode; message: string };

/** Outcomes of a notification that are not a failure's code (README "Routes and answers"). */
export const NOTIFICATION_OTHER_OUTCOMES = [
  'acknowledged',
  'ignored',
  'unreadable',
  'notify_probe',
  'signature_probe',
  'unsupported_media_type',
] as const;

/** The `outcome` label of paysync_gateway_notifications_total: one of a closed set. */
export type NotificationOutcome =
  | (typeof NOTIFICATION_OTHER_OUTCOMES)[number]
  | Lowercase<CallbackFailureCode>;

/** A failure's outcome label: its code in lower case. */
export function failureOutcome(failure: CallbackFailure): NotificationOutcome {
  return failure.code.toLowerCase() as Lowercase<CallbackFailureCode>;
}

/**
 * The one mapping from anything a callback can throw to its answer. WeChat only distinguishes
 * 2xx from the rest; the 4xx/5xx split tells operators whose side the problem is on.
 */
export function callbackFailure(err: unknown): CallbackFailure {
  if (err instanceof GatewayError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof WeChatPayError) {
    const { status } = WECHATPAY_CALLBACK_ANSWER[err.code];
    const message = status === 401 ? 'not signed by WeChat Pay' : 'notification cannot be used';
    return { status, code: err.code, message };
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
