import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { dlqReason } from '@paysync/contracts';

// The ledger dead-letters with a reason from a closed list (the contract's dlqReason, also the
// `reason` label of paysync_ledger_dead_letters_total); the dead-letters runbook explains each.

const runbook = readFileSync(new URL('../../../../docs/runbooks/dead-letters.md', import.meta.url), 'utf8');

describe('DLQ reasons', () => {
  it('are each explained in the dead-letters runbook', () => {
    expect(dlqReason.options.filter((r) => !runbook.includes(`\`${r}\``))).toEqual([]);
  });
});
