import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import * as library from '../../src/index.ts';
import { WECHATPAY_ERROR_CODES, WeChatPayError } from '../../src/index.ts';

// The error codes are a closed list; the README's table documents each with its class. A code
// added without its row, or a row naming a class the library does not export, fails here.

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function rows(): [string, string[]][] {
  const lines = readme.slice(readme.indexOf('## Error codes')).split('\n');
  const start = lines.findIndex((l) => l.startsWith('| code'));
  const out: [string, string[]][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [code = '', classes = ''] = line.split('|').slice(1, 3);
    out.push([code.trim().replaceAll('`', ''), [...classes.matchAll(/`(\w+)`/g)].map((m) => String(m[1]))]);
  }
  return out;
}

describe('WeChatPayError codes', () => {
  it('are exactly the README table', () => {
    expect(rows().map(([code]) => code)).toEqual([...WECHATPAY_ERROR_CODES]);
  });

  it('name exported error classes', () => {
    const exported = library as Record<string, unknown>;
    const missing = rows()
      .flatMap(([, classes]) => classes)
      .filter((name) => {
        const cls = exported[name];
        return !(
          typeof cls === 'function' &&
          (cls === WeChatPayError || cls.prototype instanceof WeChatPayError)
        );
      });
    expect(missing).toEqual([]);
  });

  it('are closed (checked by the compiler: npm run typecheck)', () => {
    // @ts-expect-error: not a WeChatPayError code
    const unknown = () => new WeChatPayError('NO_SUCH_CODE', 'x');
    expect(typeof unknown).toBe('function');
  });
});
