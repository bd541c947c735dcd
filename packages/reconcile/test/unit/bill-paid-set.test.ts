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

  it('answers a batch of lookups as one lookup at a time would, whatever the batch holds', () => {
    // Filled in batches (setMany) and one by one (set); looked up in batches (takeMany) with keys
    // present, absent, repeated in a batch, taken already, one character wide or too long, and a
    // value beyond 32 bits; each answer checked against a Map.
    const set = new PaidOrderSet();
    const map = new Map<string, number>();
    const all = [...keys(30_000, 3)];
    const text = all.join(',');
    const batch = { starts: new Int32Array(300), ends: new Int32Array(300), values: new Float64Array(300) };
    let n = 0;
    let at = 0;
    for (const [i, k] of all.entries()) {
      const value = i % 1000 === 7 ? 2 ** 40 + i : i * 2;
      if (i % 2 === 0) {
        batch.starts[n] = at;
        batch.ends[n] = at + k.length;
        batch.values[n] = value;
        n += 1;
        if (n === 300) {
          set.setMany(text, batch.starts, batch.ends, batch.values, n);
          n = 0;
        }
      } else set.set(k, value);
      map.set(k, value);
      at += k.length + 1;
    }
    set.setMany(text, batch.starts, batch.ends, batch.values, n);
    set.set('订单-宽', 5);
    map.set('订单-宽', 5);
    set.set('L'.repeat(256), 6);
    map.set('L'.repeat(256), 6);
    expect(set.size).toBe(map.size);

    const asked = [...keys(2_000, 3), ...keys(2_000, 19), '订单-宽', 'L'.repeat(256), ...keys(500, 3)];
    for (let i = asked.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [asked[i], asked[j]] = [asked[j] as string, asked[i] as string];
    }
    const lookups = asked.join(',');
    const starts = new Int32Array(asked.length);
    const ends = new Int32Array(asked.length);
    let from = 0;
    asked.forEach((k, i) => {
      starts[i] = from;
      ends[i] = from + k.length;
      from += k.length + 1;
    });
    const got = new Float64Array(asked.length);
    for (let s = 0; s < asked.length; s += 97) {
      const size = Math.min(97, asked.length - s);
      const values = new Float64Array(size);
      set.takeMany(lookups, starts.subarray(s, s + size), ends.subarray(s, s + size), size, values);
      got.set(values, s);
    }
    asked.forEach((k, i) => {
      expect([k, got[i]]).toEqual([k, map.get(k) ?? Number.NaN]);
      map.delete(k);
    });
    expect(set.size).toBe(map.size);
    expect(new Map(set.remaining())).toEqual(map);
  });

  it('moves a key between the table and the Map beside it when its value changes size', () => {
    const set = new PaidOrderSet();
    set.set('BB000000000001', 2);
    set.set('BB000000000001', 2 ** 33);
    expect(set.size).toBe(1);
    expect([...set.remaining()]).toEqual([['BB000000000001', 2 ** 33]]);
    set.set('BB000000000001', 4);
    expect([...set.remaining()]).toEqual([['BB000000000001', 4]]);
    expect(set.take('BB000000000001')).toBe(4);
    expect(set.take('BB000000000001')).toBeUndefined();
    expect(set.size).toBe(0);
  });
});
