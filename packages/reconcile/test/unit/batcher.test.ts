import { describe, expect, it } from '@jest/globals';
import { Batcher } from '../../src/index.ts';

describe('batcher', () => {
  it('flushes an add made right after the previous add resolved (nothing stranded, idle waits for it)', async () => {
    for (const lingerMs of [0, 5]) {
      const flushed: number[] = [];
      const batcher = new Batcher<number>(
        async (items) => {
          flushed.push(...items);
        },
        { lingerMs },
      );
      for (let i = 0; i < 50; i += 1) {
        // A caller that awaits its write and writes again at once: the next add lands in the very
        // microtask in which the previous drain ends.
        await batcher.add([i]);
      }
      const last = batcher.add([50]);
      await batcher.idle();
      expect(flushed).toEqual(Array.from({ length: 51 }, (_, i) => i));
      await last;
    }
  });

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

  it('with lingerMs, lets the first item wait for the ones that follow and writes them together', async () => {
    const flushed: number[][] = [];
    const batcher = new Batcher<number>(
      async (items) => {
        flushed.push(items);
      },
      { lingerMs: 200 },
    );
    const first = batcher.add([1]);
    // Added a few event-loop turns later, well inside the linger: still the same write.
    await new Promise((r) => setImmediate(r));
    const second = batcher.add([2]);
    await Promise.all([first, second]);
    expect(flushed).toEqual([[1, 2]]);
    // Without a linger the first item goes out alone.
    const eager: number[][] = [];
    const now = new Batcher<number>(async (items) => {
      eager.push(items);
    });
    const a = now.add([1]);
    await new Promise((r) => setImmediate(r));
    await Promise.all([a, now.add([2])]);
    expect(eager).toEqual([[1], [2]]);
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
