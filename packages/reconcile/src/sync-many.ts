import type { SyncOrder } from './store.ts';
import { syncOrder } from './sync.ts';
import type { SyncDeps, SyncResult } from './sync-types.ts';
import { arrayFeed, runWorkers } from './workers.ts';

export type SyncManyReport = {
  results: SyncResult[];
  /** Orders not synced because the breaker opened (nothing was done to them). */
  notSynced: SyncOrder[];
  abortedByBreaker: boolean;
};

/**
 * Syncs a list of orders with bounded concurrency (pace them with `deps.pacer`): what payctl
 * sync/repair and the PaymentRepair operator run. Stops taking orders once WeChat's breaker is open.
 */
export async function syncMany(
  deps: SyncDeps,
  orders: readonly SyncOrder[],
  opts: { concurrency: number; onResult?: (result: SyncResult) => void | Promise<void> },
): Promise<SyncManyReport> {
  const feed = arrayFeed(orders);
  const results: SyncResult[] = [];
  const notSynced: SyncOrder[] = [];
  let aborted = false;
  await runWorkers({
    feed,
    concurrency: opts.concurrency,
    stopped: () => aborted,
    work: async (order) => {
      const result = await syncOrder(deps, order);
      if (result.outcome === 'aborted') {
        aborted = true;
        notSynced.push(order);
        return;
      }
      results.push(result);
      await opts.onResult?.(result);
    },
  });
  notSynced.push(...feed.remaining());
  return { results, notSynced, abortedByBreaker: aborted };
}
