import type { Response } from 'express';

export type ApiErrorBody = { code: string; message: string; field?: string; [k: string]: unknown };

/** The order API's error shape: a stable code, a message for humans, the field when one is wrong. */
export function sendApiError(
  res: Response,
  status: number,
  code: string,
  message: string,
  extra: Omit<ApiErrorBody, 'code' | 'message'> = {},
): void {
  res.status(status).json({ code, message, ...extra });
}
