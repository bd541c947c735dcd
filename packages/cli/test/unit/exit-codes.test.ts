import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { EXIT_CODES, type ExitCode } from '../../src/errors.ts';

// payctl's exit codes are a closed set; the README's "exit" table documents each. A code added
// without its row (or a row for a code payctl never returns) fails here.

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('payctl exit codes', () => {
  it('are exactly the README table', () => {
    const lines = readme.split('\n');
    const start = lines.findIndex((l) => /^\|\s*exit\s*\|/.test(l));
    const documented: number[] = [];
    for (const line of lines.slice(start + 2)) {
      if (!line.startsWith('|')) break;
      documented.push(Number(line.split('|')[1]?.trim()));
    }
    expect(documented).toEqual(Object.values(EXIT_CODES));
  });

  it('are closed (checked by the compiler: npm run typecheck)', () => {
    // @ts-expect-error: not an exit code of payctl
    const unknown: ExitCode = 7;
    expect(unknown).toBe(7);
  });
});
