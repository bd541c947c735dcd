import type { SignedAnswer } from './evidence.ts';

/**
 * Every code a WeChatPayError carries (README "Error codes"), one per error class. Closed: callers
 * map codes to HTTP statuses, metric labels and alerts with `Record<WeChatPayErrorCode, …>`, so a
 * code added here without its mapping does not compile.
 */
export const WECHATPAY_ERROR_CODES = [
  'INVALID_KEY',
  'MALFORMED',
  'MISSING_HEADER',
  'UNSUPPORTED_SIGNATURE_TYPE',
  'BAD_SIGNATURE',
  'STALE_TIMESTAMP',
  'UNKNOWN_SERIAL',
  'DECRYPT_FAILED',
  'INVALID_CONFIG',
  'CERTIFICATE_INVALID',
  'API_ERROR',
  'ORDER_NOT_EXIST',
  'UNVERIFIED_ANSWER',
  'UNKNOWN_MERCHANT',
  'RATE_LIMITED',
  'SERVER_ERROR',
  'NETWORK_ERROR',
  'TIMEOUT',
  'CIRCUIT_OPEN',
  'INVALID_ARGUMENT',
  'CLIENT_CLOSED',
  'STATEMENT_CREATING',
  'NO_STATEMENT_EXIST',
  'BILL_INTEGRITY',
] as const;
export type WeChatPayErrorCode = (typeof WECHATPAY_ERROR_CODES)[number];

/**
 * Typed errors. Every error carries a stable `code` that callers map to HTTP statuses, metrics and
 * alerts. Messages never contain keys, signatures, ciphertext or payer data.
 */
export class WeChatPayError extends Error {
  readonly code: WeChatPayErrorCode;

  constructor(code: WeChatPayErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A key is unusable: an APIv3 key that is not exactly 32 bytes, or an unreadable RSA key. */
export class InvalidKeyError extends WeChatPayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_KEY', message, options);
  }
}

/** Input does not have the shape the protocol prescribes (header, body, XML, Authorization). */
export class MalformedError extends WeChatPayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MALFORMED', message, options);
  }
}

/**
 * A notification whose signature verified — WeChat Pay sent it — but whose content paysync cannot
 * read (the envelope, or the decrypted resource). Still MALFORMED, but unlike a malformed request
 * anyone could send, it is a real payment answered 400, which WeChat abandons after 24 hours.
 */
export class UnreadableNotificationError extends MalformedError {
  readonly signed = true;
}

/** A required `Wechatpay-*` header is absent or empty. */
export class MissingHeaderError extends WeChatPayError {
  readonly header: string;

  constructor(header: string) {
    super('MISSING_HEADER', `missing header ${header}`);
    this.header = header;
  }
}

/** `Wechatpay-Signature-Type` names an algorithm other than WECHATPAY2-SHA256-RSA2048. */
export class UnsupportedSignatureTypeError extends WeChatPayError {
  constructor() {
    super('UNSUPPORTED_SIGNATURE_TYPE', 'unsupported Wechatpay-Signature-Type');
  }
}

/** The RSA signature does not verify (includes WeChat's `WECHATPAY/SIGNTEST/` probes). */
export class BadSignatureError extends WeChatPayError {
  constructor(message = 'signature does not verify') {
    super('BAD_SIGNATURE', message);
  }
}

/** `|now − Wechatpay-Timestamp| ≥ 300 s`. */
export class StaleTimestampError extends WeChatPayError {
  readonly skewSeconds: number;

  constructor(skewSeconds: number) {
    super('STALE_TIMESTAMP', `timestamp outside the 300 s window (skew ${skewSeconds} s)`);
    this.skewSeconds = skewSeconds;
  }
}

/** No platform certificate or public key is known for `Wechatpay-Serial`, even after a refresh. */
export class UnknownSerialError extends WeChatPayError {
  readonly serial: string;

  constructor(serial: string) {
    super('UNKNOWN_SERIAL', `no verification key for serial ${serial}`);
    this.serial = serial;
  }
}

/** AES-256-GCM decryption failed (tag mismatch: almost always a wrong APIv3 key). */
export class DecryptFailedError extends WeChatPayError {
  constructor(message = 'AES-256-GCM decryption failed', options?: { cause?: unknown }) {
    super('DECRYPT_FAILED', message, options);
  }
}

/** Options given to a constructor are unusable (bad base URL, refresh interval too long, …). */
export class InvalidConfigError extends WeChatPayError {
  constructor(message: string) {
    super('INVALID_CONFIG', message);
  }
}

/** A downloaded platform certificate contradicts its listing (serial mismatch, unreadable PEM). */
export class CertificateError extends WeChatPayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CERTIFICATE_INVALID', message, options);
  }
}

export interface ApiErrorInfo {
  status: number;
  /** WeChat's `code` from the error body (e.g. ORDER_NOT_EXIST), when there was one. */
  wechatCode: string | undefined;
  /** WeChat's `message`. Not shown in our message: it may echo request data. */
  wechatMessage: string | undefined;
  /** Whether the error response carried a signature that verified (error responses may be unsigned). */
  verified: boolean;
}

/** WeChat answered with a 4xx business error (PARAM_ERROR, SIGN_ERROR, NO_AUTH, …). */
export class WeChatPayApiError extends WeChatPayError {
  readonly status: number;
  readonly wechatCode: string | undefined;
  readonly wechatMessage: string | undefined;
  readonly verified: boolean;

  constructor(info: ApiErrorInfo, code: WeChatPayErrorCode = 'API_ERROR') {
    super(code, `WeChat Pay answered ${info.status} ${info.wechatCode ?? '(no code)'}`);
    this.status = info.status;
    this.wechatCode = info.wechatCode;
    this.wechatMessage = info.wechatMessage;
    this.verified = info.verified;
  }
}

/** 404 ORDER_NOT_EXIST (older pages: ORDERNOTEXIST), signed by WeChat: the answer is kept as evidence. */
export class OrderNotExistError extends WeChatPayApiError {
  readonly answer: SignedAnswer;

  constructor(info: ApiErrorInfo, answer: SignedAnswer) {
    super(info, 'ORDER_NOT_EXIST');
    this.answer = answer;
  }
}

/**
 * An answer that would be a fact about an order (404 ORDER_NOT_EXIST) without a signature that
 * verifies: an egress proxy, a misrouted base URL or an error page can say the same. It is an error
 * of the call, never a fact: an order is not finalised on it.
 */
export class UnverifiedAnswerError extends WeChatPayApiError {
  constructor(info: ApiErrorInfo) {
    super(info, 'UNVERIFIED_ANSWER');
  }
}

/**
 * An order of another merchant was about to be queried or closed with this client's credentials.
 * out_trade_no is unique per merchant only: WeChat would answer ORDER_NOT_EXIST, and that would
 * expire an order that may well be paid. Raised before any request is sent.
 */
export class UnknownMerchantError extends WeChatPayError {
  readonly mchid: string;
  readonly ours: string;

  constructor(mchid: string, ours: string) {
    super(
      'UNKNOWN_MERCHANT',
      `no WeChat Pay credentials for merchant ${mchid} here (this client signs for ${ours})`,
    );
    this.mchid = mchid;
    this.ours = ours;
  }
}

/** 429 (RATELIMIT_EXCEEDED / FREQUENCY_LIMITED). Never retried by the client: back off. */
export class RateLimitedError extends WeChatPayApiError {
  constructor(info: ApiErrorInfo) {
    super(info, 'RATE_LIMITED');
  }
}

/** 5xx after every retry and host was tried. */
export class ServerError extends WeChatPayApiError {
  constructor(info: ApiErrorInfo) {
    super(info, 'SERVER_ERROR');
  }
}

/** The connection failed (refused, reset, DNS, TLS) on every attempt. */
export class NetworkError extends WeChatPayError {
  constructor(message = 'network error talking to WeChat Pay', options?: { cause?: unknown }) {
    super('NETWORK_ERROR', message, options);
  }
}

/** No complete response within the configured timeout on every attempt. */
export class TimeoutError extends WeChatPayError {
  constructor(message = 'WeChat Pay did not answer in time', options?: { cause?: unknown }) {
    super('TIMEOUT', message, options);
  }
}

/** The circuit breaker is open: the call was not attempted. */
export class CircuitOpenError extends WeChatPayError {
  constructor() {
    super('CIRCUIT_OPEN', 'circuit breaker is open; WeChat Pay calls fail fast');
  }
}

/** A call was made with arguments WeChat would refuse (bad out_trade_no, amount, …); nothing was sent. */
export class InvalidArgumentError extends WeChatPayError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** The client was closed; no more calls are made. */
export class ClientClosedError extends WeChatPayError {
  constructor() {
    super('CLIENT_CLOSED', 'the WeChat Pay client has been closed');
  }
}
