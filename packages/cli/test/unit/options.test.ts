import { describe, expect, it } from '@jest/globals';
import { actorOf, type Io, reasonFor, table, timeArg, UsageError } from '../../src/index.ts';

const io = (env: Record<string, string>): Io => ({
  out: () => {},
  err: () => {},
  env,
  interactive: false,
  color: false,
});

describe('payctl options', () => {
  it('takes the actor from --actor, else $USER, else refuses', () => {
    expect(actorOf(io({ USER: 'alice' }), undefined)).toBe('alice');
    expect(actorOf(io({ USER: 'alice' }), 'bob')).toBe('bob');
    expect(() => actorOf(io({}), undefined)).toThrow(UsageError);
  });

  it('requires a reason for a change but not for a dry run', () => {
    expect(() => reasonFor(false, undefined)).toThrow(/--reason is required/);
    expect(() => reasonFor(false, '   ')).toThrow(UsageError);
    expect(reasonFor(true, undefined)).toBeUndefined();
    expect(reasonFor(false, ' INC-1 ')).toBe('INC-1');
  });

  it('reads times as RFC 3339, "now", or a duration ago', () => {
    const now = new Date('2026-05-01T12:00:00Z');
    expect(timeArg('--from', '2026-05-01T08:00:00+08:00', now).toISOString()).toBe(
      '2026-05-01T00:00:00.000Z',
    );
    expect(timeArg('--to', 'now', now)).toBe(now);
    expect(timeArg('--from', '2h', now).toISOString()).toBe('2026-05-01T10:00:00.000Z');
    expect(() => timeArg('--from', 'yesterday', now)).toThrow(UsageError);
  });

  it('aligns tables', () => {
    expect(table(['a', 'bb'], [['xxx', 'y']])).toBe('A    BB\nxxx  y\n');
  });
});
