import { describe, expect, it } from '@jest/globals';
import { PaidOrderSet } from '../../src/bill-paid-set.ts';

/** A small deterministic generator: the same keys every run. */
function* keys(n: number, seed = 7): Generator<string> {
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    // Lengths 1 to 40: short keys collide in a 32-bit hash more often than real ones would.
    yield `${(x % 97).toString(36)}${'k'.repeat(x % 9)}${i.toString(36)}`.slice(0, 1 + (x % 40));
  }
}

describe('PaidOrderSet, the bill day’s paid orders', () => {
  it('behaves like a Map through growth: set, take once, the rest remains', () => {
    const set = new PaidOrderSet();
    const map = new Map<string, number>();
    for (const [i, k] of [...keys(50_000)].entries()) {
      set.set(k, i * 2 + 1);
      map.set(k, i * 2 + 1);
    }
    expect(set.size).toBe(map.size);
    const probe = [...keys(60_000, 11)];
    for (const k of [...map.keys()].filter((_, i) => i % 3 === 0).concat(probe)) {
      expect(set.take(k)).toBe(map.get(k));
      map.delete(k);
      expect(set.take(k)).toBeUndefined();
    }
    expect(set.size).toBe(map.size);
    expect(new Map(set.remaining())).toEqual(map);
  });

  it('keeps keys outside one byte a character, and a key taken and set again', () => {
    const set = new PaidOrderSet();
    set.set('订单-1', 10);
    set.set('A'.repeat(300), 20);
    set.set('BB000000000001', 30);
    expect(set.take('订单-1')).toBe(10);
    expect(set.take('订单-2')).toBeUndefined();
    expect(set.take('BB000000000001')).toBe(30);
    set.set('BB000000000001', 31);
    expect(set.size).toBe(2);
    expect(new Map(set.remaining())).toEqual(
      new Map([
        ['BB000000000001', 31],
        ['A'.repeat(300), 20],
      ]),
    );
  });

  it('tells keys apart that differ in one byte, or are one another’s prefix', () => {
    const set = new PaidOrderSet();
    set.set('BB00000000000', 1);
    set.set('BB000000000001', 2);
    set.set('BB000000000002', 3);
    expect(set.take('BB000000000003')).toBeUndefined();
    expect(set.take('BB0000000000')).toBeUndefined();
    expect(set.take('BB000000000002')).toBe(3);
    expect(set.take('BB00000000000')).toBe(1);
    expect([...set.remaining()]).toEqual([['BB000000000001', 2]]);
  });
});
