/** Hands out work items one at a time; `undefined` means there is no more. */
export type Feed<T> = { next(): Promise<T | undefined> };

/**
 * Runs `concurrency` workers over a feed until it runs dry or `stopped()` says so. A worker that
 * throws stops the others from taking new items; in-flight items finish, then the first error is
 * rethrown.
 */
export async function runWorkers<T>(opts: {
  feed: Feed<T>;
  concurrency: number;
  work: (item: T) => Promise<void>;
  stopped?: () => boolean;
}): Promise<void> {
  let failed = false;
  let firstError: unknown;
  const worker = async () => {
    while (!failed && !(opts.stopped?.() ?? false)) {
      const item = await opts.feed.next();
      if (item === undefined) return;
      try {
        await opts.work(item);
      } catch (err) {
        if (!failed) firstError = err;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  if (failed) throw firstError;
}

/** A feed over an array. */
export function arrayFeed<T>(items: readonly T[]): Feed<T> & { remaining(): T[] } {
  let i = 0;
  return {
    next: async () => (i < items.length ? items[i++] : undefined),
    remaining: () => items.slice(i),
  };
}
