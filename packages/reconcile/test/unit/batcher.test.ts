import { describe, expect, it } from '@jest/globals';
import { Batcher } from '../../src/index.ts';

describe('batcher', () => {
  it('sends what arrives while a flush is in flight in one next flush, in order', async () => {
    const flushed: number[][] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const batcher = new Batcher<number>(async (items) => {
      flushed.push(items);
      if (flushed.length === 1) await gate;
    });
    const first = batcher.add([1]);
    const rest = [batcher.add([2, 3]), batcher.add([4]), batcher.add([5])];
    release();
    await Promise.all([first, ...rest]);
    expect(flushed).toEqual([[1], [2, 3, 4, 5]]);
  });

  it('splits at maxBatch without reordering', async () => {
    const flushed: number[][] = [];
    const batcher = new Batcher<number>(
      async (items) => {
        flushed.push(items);
      },
      { maxBatch: 2 },
    );
    await batcher.add([1, 2, 3, 4, 5]);
    expect(flushed).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('rejects the callers whose items failed, and carries on with later ones', async () => {
    let fail = true;
    const batcher = new Batcher<string>(async () => {
      if (fail) {
        fail = false;
        throw new Error('broker down');
      }
    });
    await expect(batcher.add(['a'])).rejects.toThrow('broker down');
    await expect(batcher.add(['b'])).resolves.toBeUndefined();
  });
});
