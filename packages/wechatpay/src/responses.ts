import {
  type ApiErrorInfo,
  BadSignatureError,
  CircuitOpenError,
  ClientClosedError,
  DecryptFailedError,
  MalformedError,
  MissingHeaderError,
  NetworkError,
  OrderNotExistError,
  RateLimitedError,
  ServerError,
  StaleTimestampError,
  TimeoutError,
  UnknownSerialError,
  UnsupportedSignatureTypeError,
  UnverifiedAnswerError,
  WeChatPayApiError,
  type WeChatPayError,
} from './errors.ts';
import { signedEvidence } from './evidence.ts';
import type { HeaderInput } from './headers.ts';
import { apiErrorBodySchema } from './schemas.ts';

export interface RawResponse {
  status: number;
  headers: HeaderInput;
  /** Raw body bytes as received. */
  body: Buffer;
}

/** Bounded outcome labels for metrics. */
export type CallOutcome =
  | 'success'
  | 'not_found'
  | 'business_error'
  | 'rate_limited'
  | 'server_error'
  | 'network_error'
  | 'timeout'
  | 'verification_failed'
  | 'invalid_response'
  | 'circuit_open'
  | 'client_closed';

export interface ResponseVerifier {
  /** Verifies a 2xx response; throws a typed error when it does not verify. */
  success(response: RawResponse): Promise<void>;
  /** Error responses may be unsigned: returns false then; throws only for a signature that is present and wrong. */
  error(response: RawResponse): Promise<boolean>;
}

export type Classified = { retry: true; error: WeChatPayError } | { retry: false; error?: WeChatPayError };

const NOT_EXIST_CODES = new Set(['ORDER_NOT_EXIST', 'ORDERNOTEXIST']);

function errorBody(body: Buffer): { code?: string; message?: string } {
  try {
    const parsed = apiErrorBodySchema.safeParse(JSON.parse(body.toString('utf8')));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/** Maps a response to success, a typed error, or "retry this" (5xx). */
export async function classifyResponse(
  raw: RawResponse,
  verify: boolean,
  verifier: ResponseVerifier,
): Promise<Classified> {
  if (raw.status >= 200 && raw.status < 300) {
    if (verify) await verifier.success(raw);
    return { retry: false };
  }
  const { code, message } = errorBody(raw.body);
  const base = { status: raw.status, wechatCode: code, wechatMessage: message };
  if (raw.status >= 500) return { retry: true, error: new ServerError({ ...base, verified: false }) };
  const info: ApiErrorInfo = { ...base, verified: await verifier.error(raw) };
  if (raw.status === 429) return { retry: false, error: new RateLimitedError(info) };
  if (code !== undefined && NOT_EXIST_CODES.has(code)) {
    // "No such order" finalises orders: only WeChat's signed word counts.
    return {
      retry: false,
      error: info.verified
        ? new OrderNotExistError(info, { status: raw.status, ...signedEvidence(raw.headers, raw.body) })
        : new UnverifiedAnswerError(info),
    };
  }
  return { retry: false, error: new WeChatPayApiError(info) };
}

export function outcomeOf(error: WeChatPayError): CallOutcome {
  if (error instanceof RateLimitedError) return 'rate_limited';
  if (error instanceof OrderNotExistError) return 'not_found';
  if (error instanceof UnverifiedAnswerError) return 'verification_failed';
  if (error instanceof ServerError) return 'server_error';
  if (error instanceof WeChatPayApiError) return 'business_error';
  if (error instanceof NetworkError) return 'network_error';
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof CircuitOpenError) return 'circuit_open';
  if (error instanceof ClientClosedError) return 'client_closed';
  if (
    error instanceof BadSignatureError ||
    error instanceof StaleTimestampError ||
    error instanceof UnknownSerialError ||
    error instanceof MissingHeaderError ||
    error instanceof UnsupportedSignatureTypeError
  ) {
    return 'verification_failed';
  }
  if (error instanceof MalformedError || error instanceof DecryptFailedError) return 'invalid_response';
  return 'invalid_response';
}
