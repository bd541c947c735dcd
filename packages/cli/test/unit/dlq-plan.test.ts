import { describe, expect, it } from '@jest/globals';
import type { DlqEntry, DlqSnapshot } from '../../src/commands/dlq-read.ts';
import { planResolve, UnnamedEarlierEntriesError } from '../../src/commands/dlq-resolve.ts';

function entry(partition: number, offset: number, handled = false): DlqEntry {
  return {
    id: `${partition}:${offset}`,
    partition,
    offset: String(offset),
    reason: 'unknown_order',
    reasonDetail: '',
    outTradeNo: null,
    failedAt: '2026-05-01T00:00:00.000Z',
    original: { topic: 'paysync.payment-observations.v1', partition: 0, offset: '0' },
    retriable: true,
    handled,
    observation: undefined,
  };
}

/** Partition 0: 0:0 handled, 0:1, 0:2 (the message at 0:3 is not a dead letter); partition 1: 1:0. */
const snapshot: DlqSnapshot = {
  topic: 't',
  entries: [entry(0, 0, true), entry(0, 1), entry(0, 2), entry(1, 0)],
  partitions: [
    { partition: 0, low: 0n, high: 4n, handled: 1n },
    { partition: 1, low: 0n, high: 1n, handled: 0n },
  ],
  unreadable: ['0:3'],
};
const pick = (...ids: string[]) => snapshot.entries.filter((e) => ids.includes(e.id));

describe('planning which dead letters become handled', () => {
  it('moves a partition’s handled offset just past the last named entry', () => {
    const plan = planResolve(snapshot, pick('0:1', '0:2', '1:0'), { all: false });
    expect(plan.resolve.map((e) => e.id)).toEqual(['0:1', '0:2', '1:0']);
    expect(plan.moves).toEqual([
      { partition: 0, from: 1n, to: 3n },
      { partition: 1, from: 0n, to: 1n },
    ]);
    expect(plan.unreadable).toEqual([]);
  });

  it('refuses an entry whose earlier unhandled entries are not named, listing them', () => {
    expect(() => planResolve(snapshot, pick('0:2'), { all: false })).toThrow(UnnamedEarlierEntriesError);
    expect(() => planResolve(snapshot, pick('0:2'), { all: false })).toThrow(/not named: 0:1\./);
  });

  it('does not count earlier entries that are already handled', () => {
    const plan = planResolve(snapshot, pick('0:1'), { all: false });
    expect(plan.moves).toEqual([{ partition: 0, from: 1n, to: 2n }]);
  });

  it('reports handled entries as already handled and moves nothing for them', () => {
    const plan = planResolve(snapshot, pick('0:0'), { all: false });
    expect(plan.already.map((e) => e.id)).toEqual(['0:0']);
    expect(plan.resolve).toEqual([]);
    expect(plan.moves).toEqual([]);
  });

  it('--all moves every partition to its end, covering messages that are not dead letters', () => {
    const plan = planResolve(snapshot, snapshot.entries, { all: true });
    expect(plan.resolve.map((e) => e.id)).toEqual(['0:1', '0:2', '1:0']);
    expect(plan.unreadable).toEqual(['0:3']);
    expect(plan.moves).toEqual([
      { partition: 0, from: 1n, to: 4n },
      { partition: 1, from: 0n, to: 1n },
    ]);
  });
});
