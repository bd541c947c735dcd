import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { WECHATPAY_ERROR_CODES } from '@paysync/wechatpay';
import {
  GATEWAY_ERROR_STATUS,
  GatewayError,
  NOTIFICATION_OTHER_OUTCOMES,
  SIGNATURE_FAILURE_REASONS,
  WECHATPAY_CALLBACK_ANSWER,
} from '../../src/errors.ts';

// A refused notification's status and its metric labels come from closed maps; the README documents
// them. A code or reason added without its row (or documented with another status) fails here.

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The README's outcome table of APIv3 notifications: [status, outcome] per row. */
function outcomeRows(): [number, string][] {
  const section = readme.slice(readme.indexOf('### `POST /api/payment/wechat/callback` (APIv3'));
  const lines = section.split('\n');
  const start = lines.findIndex((l) => l.startsWith('| status'));
  const rows: [number, string][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [status, outcome] = line
      .split('|')
      .slice(1, 3)
      .map((c) => c.trim().replaceAll('`', ''));
    rows.push([Number(status), String(outcome)]);
  }
  return rows;
}

/** Each failure code's status when it answers a notification. */
const failureStatus: Record<string, number> = {
  ...Object.fromEntries(Object.entries(WECHATPAY_CALLBACK_ANSWER).map(([c, a]) => [c, a.status])),
  ...GATEWAY_ERROR_STATUS,
  PAYLOAD_TOO_LARGE: 413,
  BAD_REQUEST: 400,
  INTERNAL_ERROR: 500,
};

describe('notification outcomes', () => {
  it('are documented with the status each code answers', () => {
    const rows = outcomeRows();
    expect(rows.length).toBeGreaterThan(15);
    const wrong = rows.filter(([status, outcome]) => {
      const code = outcome.toUpperCase();
      if (code in failureStatus) return failureStatus[code] !== status;
      return !(NOTIFICATION_OTHER_OUTCOMES as readonly string[]).includes(outcome);
    });
    expect(wrong).toEqual([]);
  });

  it('document every gateway code, every signature failure and every other outcome', () => {
    const documented = new Set(outcomeRows().map(([, outcome]) => outcome));
    const signatureCodes = Object.entries(WECHATPAY_CALLBACK_ANSWER)
      .filter(([, a]) => a.status === 401)
      .map(([code]) => code);
    const expected = [
      ...Object.keys(GATEWAY_ERROR_STATUS),
      ...signatureCodes,
      'MALFORMED',
      'DECRYPT_FAILED',
      'PAYLOAD_TOO_LARGE',
      'BAD_REQUEST',
      'INTERNAL_ERROR',
    ].map((c) => c.toLowerCase());
    expect([...expected, ...NOTIFICATION_OTHER_OUTCOMES].filter((o) => !documented.has(o))).toEqual([]);
  });

  it('map every WeChatPayError code to an answer', () => {
    expect(Object.keys(WECHATPAY_CALLBACK_ANSWER).sort()).toEqual([...WECHATPAY_ERROR_CODES].sort());
  });
});

describe('signature failure reasons', () => {
  it('are the README’s labels of paysync_gateway_signature_failures_total', () => {
    const row = readme.split('\n').find((l) => l.includes('`paysync_gateway_signature_failures_total`'));
    const listed = /`reason` \(([^)]*)\)/
      .exec(row ?? '')?.[1]
      ?.split(',')
      .map((r) => r.trim());
    expect(listed?.sort()).toEqual([...SIGNATURE_FAILURE_REASONS].sort());
  });

  it('include every signature failure’s own reason', () => {
    const reasons = Object.values(WECHATPAY_CALLBACK_ANSWER).flatMap((a) =>
      'reason' in a ? [a.reason] : [],
    );
    expect(reasons.filter((r) => !(SIGNATURE_FAILURE_REASONS as readonly string[]).includes(r))).toEqual([]);
    expect(reasons).toHaveLength(5);
  });
});

describe('gateway errors', () => {
  it('are closed (checked by the compiler: npm run typecheck)', () => {
    // @ts-expect-error: not a gateway error code
    const unknown = () => new GatewayError('NO_SUCH_CODE', 'x');
    expect(typeof unknown).toBe('function');
  });
});
