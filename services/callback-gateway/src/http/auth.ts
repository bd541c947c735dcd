import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { sendApiError } from './api-errors.ts';

export type Scope = 'write' | 'read';

export type ApiTokens = {
  /** Creates and reads orders (the merchant back end). */
  write: string;
  /** Reads orders only. */
  read?: string | undefined;
};

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison: both sides are hashed first, so neither length nor content leaks. */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The scope a bearer token grants, or undefined. Both tokens are always compared. */
export function scopeOf(authorization: string | undefined, tokens: ApiTokens): Scope | undefined {
  const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization ?? '');
  const presented = match?.[1] ?? '';
  const write = tokenMatches(presented, tokens.write);
  const read = tokens.read !== undefined && tokenMatches(presented, tokens.read);
  if (!match) return undefined;
  if (write) return 'write';
  if (read) return 'read';
  return undefined;
}

/** Requires a bearer token granting `scope` (the write token grants read too). */
export function requireToken(tokens: ApiTokens, scope: Scope) {
  return (req: Request, res: Response, next: NextFunction) => {
    const granted = scopeOf(req.headers.authorization, tokens);
    if (granted === undefined) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="paysync"');
      return sendApiError(res, 'UNAUTHORIZED', 'a valid bearer token is required');
    }
    if (scope === 'write' && granted !== 'write') {
      return sendApiError(res, 'FORBIDDEN', 'this token may only read orders');
    }
    next();
  };
}
