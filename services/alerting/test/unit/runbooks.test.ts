import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { alertType } from '@paysync/contracts';
import { DOMAIN_RUNBOOKS } from '../../src/runbooks.ts';

// Every domain alert type links one runbook (DOMAIN_RUNBOOKS, exhaustive by type); the runbook
// index documents which page each type leads to. A type added without its page in the index, or
// the index naming another page than the one delivered, fails here.

const index = readFileSync(new URL('../../../../docs/runbooks/README.md', import.meta.url), 'utf8');

/** The index's "domain alert types" column: page name → the types it lists. */
function documented(): Map<string, string[]> {
  const pages = new Map<string, string[]>();
  for (const line of index.split('\n')) {
    const page = /^\| \[([a-z0-9-]+)\]\(\1\.md\)/.exec(line)?.[1];
    if (!page) continue;
    const types = String(line.split('|').at(-2)).trim();
    pages.set(page, types === '—' ? [] : types.split(',').map((t) => t.trim()));
  }
  return pages;
}

describe('domain alert runbooks', () => {
  it('are listed in the runbook index under the page each type links', () => {
    const pages = documented();
    const byType = [...pages].flatMap(([page, types]) => types.map((t) => [t, page] as const));
    expect(Object.fromEntries(byType)).toEqual(DOMAIN_RUNBOOKS);
    expect(Object.keys(DOMAIN_RUNBOOKS).sort()).toEqual([...alertType.options].sort());
  });
});
