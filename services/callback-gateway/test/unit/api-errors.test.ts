import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { API_ERROR_CODES, API_ERROR_STATUS, type ApiErrorCode, apiError } from '../../src/http/api-errors.ts';
import type { ApiResult } from '../../src/orders/create.ts';

// The order API's error codes are a closed list with one status each; the README documents them.
// A code added without its row in the README's table (or documented with another status) fails here.

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows of the Markdown tables under `heading` (to the next heading), as trimmed cells. */
function tableRows(heading: string): string[][] {
  const at = readme.indexOf(`\n${heading}\n`);
  expect(at).toBeGreaterThanOrEqual(0);
  const lines = readme.slice(at + heading.length + 2).split('\n');
  const end = lines.findIndex((l) => l.startsWith('#'));
  return lines
    .slice(0, end === -1 ? undefined : end)
    .filter((l) => l.startsWith('|') && !/^\|\s*-/.test(l))
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
}

const isCode = (s: string): s is ApiErrorCode => (API_ERROR_CODES as readonly string[]).includes(s);

describe('order API error codes', () => {
  it('are exactly the README table, each with its status', () => {
    const documented = Object.fromEntries(
      tableRows('### Order API error codes')
        .slice(1)
        .map(([code, status]) => [String(code).replaceAll('`', ''), Number(status)]),
    );
    expect(documented).toEqual(API_ERROR_STATUS);
    expect(Object.keys(API_ERROR_STATUS).sort()).toEqual([...API_ERROR_CODES].sort());
  });

  it('appear in each route’s table only under their own status', () => {
    const routes = readme
      .split('\n### ')
      .filter((s) => s.startsWith('`') && s.includes('/api/payment/orders'))
      .map((s) => s.split('\n')[0] as string);
    expect(routes.length).toBeGreaterThanOrEqual(3);
    const misplaced: string[] = [];
    let seen = 0;
    for (const route of routes) {
      for (const [statusCell = '', ...rest] of tableRows(`### ${route}`)) {
        const statuses = statusCell.split('/').map((s) => Number(s.trim()));
        if (statuses.some(Number.isNaN)) continue; // a field table, not a status table
        for (const [, token] of rest.join(' ').matchAll(/`([A-Z][A-Z0-9_]+)`/g)) {
          seen += 1;
          const code = String(token);
          if (!isCode(code) || !statuses.includes(API_ERROR_STATUS[code])) {
            misplaced.push(`${route}: ${code} under ${statusCell}`);
          }
        }
      }
    }
    expect(misplaced).toEqual([]);
    expect(seen).toBeGreaterThan(10);
  });

  it('give every answer its code’s status', () => {
    expect(apiError('AMOUNT_EXCEEDS_REFUNDABLE', 'too much', { refundable_fen: 5 })).toEqual({
      status: 400,
      body: { code: 'AMOUNT_EXCEEDS_REFUNDABLE', message: 'too much', refundable_fen: 5 },
    });
    expect(apiError('DATABASE_UNAVAILABLE', 'later').status).toBe(503);
  });

  it('are closed (checked by the compiler: npm run typecheck)', () => {
    // @ts-expect-error: not a code of the order API
    const unknown = () => apiError('NO_SUCH_CODE', 'x');
    // @ts-expect-error: a code answered with another status than its own
    const misstated: ApiResult = { status: 404, body: { code: 'VALIDATION_FAILED', message: 'x' } };
    expect([typeof unknown, misstated.status]).toEqual(['function', 404]);
  });
});
