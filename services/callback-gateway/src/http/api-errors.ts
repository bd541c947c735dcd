import type { Response } from 'express';

/**
 * Every code the order API answers an error with (README "Order API"). Closed: a code missing
 * from this list does not compile, and each has exactly one HTTP status (API_ERROR_STATUS).
 */
export const API_ERROR_CODES = [
  'VALIDATION_FAILED',
  'INVALID_JSON',
  'BAD_REQUEST',
  'POINTS_EXCEED_RATE',
  'ORDER_NOT_PAID',
  'AMOUNT_EXCEEDS_REFUNDABLE',
  'TOO_MANY_REFUNDS',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'ORDER_NOT_FOUND',
  'REFUND_NOT_FOUND',
  'NOT_FOUND',
  'MERCHANT_ORDER_NO_CONFLICT',
  'MERCHANT_REFUND_NO_CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'REFUND_REJECTED',
  'CONFIRM_RATE_LIMITED',
  'INTERNAL_ERROR',
  'PREPAY_FAILED',
  'BUSY',
  'SHUTTING_DOWN',
  'DATABASE_UNAVAILABLE',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** Each code's status: 4xx the caller's request, 5xx paysync or a dependency (retry the same request). */
export const API_ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  BAD_REQUEST: 400,
  POINTS_EXCEED_RATE: 400,
  ORDER_NOT_PAID: 400,
  AMOUNT_EXCEEDS_REFUNDABLE: 400,
  TOO_MANY_REFUNDS: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  ORDER_NOT_FOUND: 404,
  REFUND_NOT_FOUND: 404,
  NOT_FOUND: 404,
  MERCHANT_ORDER_NO_CONFLICT: 409,
  MERCHANT_REFUND_NO_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REFUND_REJECTED: 422,
  CONFIRM_RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  PREPAY_FAILED: 502,
  BUSY: 503,
  SHUTTING_DOWN: 503,
  DATABASE_UNAVAILABLE: 503,
} as const satisfies Record<ApiErrorCode, number>;

export type ApiErrorBody<C extends ApiErrorCode = ApiErrorCode> = {
  code: C;
  message: string;
  field?: string;
  [k: string]: unknown;
};

/** An error answer whose status is its code's: a code with another status does not compile. */
export type ApiErrorResult<C extends ApiErrorCode = ApiErrorCode> = C extends ApiErrorCode
  ? { status: (typeof API_ERROR_STATUS)[C]; body: ApiErrorBody<C> }
  : never;

/** An order API error answer: the code's status, and the body (a stable code, a message, extras). */
export function apiError<C extends ApiErrorCode>(
  code: C,
  message: string,
  extra: Omit<ApiErrorBody, 'code' | 'message'> = {},
): ApiErrorResult<C> {
  return { status: API_ERROR_STATUS[code], body: { code, message, ...extra } } as ApiErrorResult<C>;
}

/** The order API's error shape: a stable code, a message for humans, the field when one is wrong. */
export function sendApiError(
  res: Response,
  code: ApiErrorCode,
  message: string,
  extra: Omit<ApiErrorBody, 'code' | 'message'> = {},
): void {
  const { status, body } = apiError(code, message, extra);
  res.status(status).json(body);
}
