import { setTimeout as sleep } from 'node:timers/promises';
import { dateClock } from '@paysync/contracts';
import type { Pool } from '@paysync/db';
import type { Logger } from '@paysync/observability';
import {
  Batcher,
  claimDueOrders,
  countDueOrders,
  ReconcileError,
  type ReconcileErrorCode,
  releaseClaims,
  runWorkers,
  type ScheduleUpdate,
  type Shard,
  type SyncDeps,
  type SyncOrder,
  type SyncOutcome,
  type SyncResult,
  shardLabel,
  sweepLockName,
  syncOrder,
  tryAdvisoryLock,
  wechatUnavailableAlert,
  writeSchedules,
} from '@paysync/reconcile';

/** How long a sweep's Kafka and MySQL writes wait to be joined by others (see Batcher). */
export const SWEEP_WRITE_LINGER_MS = 10;

export type SweepOptions = {
  shard: Shard;
  pageSize: number;
  concurrency: number;
  /** The run stops taking orders after this long. */
  budgetMs: number;
  /** How far a claimed page's next_check_at is pushed while the run works on it. */
  claimLeaseMs: number;
  /** Hold the shard's advisory lock (always in production; tests turn it off to prove the claims). */
  useLock?: boolean;
};

export type SweepDeps = {
  pool: Pool;
  /** What each order's sync needs: WeChat client, publisher, pacer, policy, clock, origin. */
  sync: Omit<SyncDeps, 'dryRun' | 'closeExpired'>;
  logger: Logger;
  onResult?: (result: SyncResult) => void;
  /** Stops the run early (SIGTERM): in-flight orders finish, the rest are released. */
  signal?: AbortSignal;
  /** Monotonic milliseconds, for the budget. */
  monotonic?: () => number;
};

export type SweepStatus =
  | 'ok'
  | 'budget_exhausted'
  | 'skipped_locked'
  | 'breaker_open'
  | 'interrupted'
  | 'failed';

export type SweepReport = {
  status: SweepStatus;
  shard: string;
  startedAt: Date;
  durationMs: number;
  /** Orders whose check completed (any outcome but aborted). */
  checked: number;
  outcomes: Partial<Record<SyncOutcome, number>>;
  missedNotifications: number;
  needsAttention: number;
  errors: Record<string, number>;
  rateLimited: number;
  pages: number;
  pageSelectMs: number[];
  /** Claimed orders given back unchecked (budget, breaker, failure): due again at once. */
  released: number;
  /** Pending orders still due at the run's cutoff when it ended. */
  remainingDue: number;
  failure?: SweepFailure;
};

type Stop = 'budget' | 'breaker' | 'interrupted' | 'failed';

/** Why a run failed: a ReconcileError's code, or UNKNOWN (a bug) — paysync_reconciler_errors_total's `code`. */
export type SweepFailure = { code: ReconcileErrorCode | 'UNKNOWN'; message: string };

function failureOf(err: unknown): SweepFailure {
  // The cause's code (ER_LOCK_DEADLOCK, ECONNREFUSED, KafkaJSNumberOfRetriesExceeded…) says what broke.
  const cause = (err as { cause?: { code?: unknown; name?: unknown } })?.cause;
  const detail =
    typeof cause?.code === 'string' ? cause.code : typeof cause?.name === 'string' ? cause.name : undefined;
  if (err instanceof ReconcileError) {
    return { code: err.code, message: detail ? `${err.message} (${detail})` : err.message };
  }
  return { code: 'UNKNOWN', message: err instanceof Error ? err.message : String(err) };
}

/**
 * One sweep run: take the shard's advisory lock, then claim pages of due orders (due at the run's
 * start, oldest first) and sync each with bounded concurrency, writing its next check on the back-off.
 * Pages are prefetched so the query rate never waits for the database. Stops at the time budget, when
 * the breaker opens (alert; unchecked orders are released, nothing is marked), on SIGTERM, or on a
 * Kafka/MySQL failure. Never throws: the report says how it went.
 */
export async function runSweep(deps: SweepDeps, options: SweepOptions): Promise<SweepReport> {
  const mono = deps.monotonic ?? (() => performance.now());
  const clock = dateClock(deps.sync.clock);
  const startedAt = clock();
  const started = mono();
  const report: SweepReport = {
    status: 'ok',
    shard: shardLabel(options.shard),
    startedAt,
    durationMs: 0,
    checked: 0,
    outcomes: {},
    missedNotifications: 0,
    needsAttention: 0,
    errors: {},
    rateLimited: 0,
    pages: 0,
    pageSelectMs: [],
    released: 0,
    remainingDue: 0,
  };
  const finish = (status: SweepStatus): SweepReport => {
    report.status = status;
    report.durationMs = mono() - started;
    return report;
  };

  let lock: Awaited<ReturnType<typeof tryAdvisoryLock>> | undefined;
  try {
    if (options.useLock ?? true) {
      lock = await tryAdvisoryLock(deps.pool, sweepLockName(options.shard));
      if (!lock.acquired) {
        deps.logger.info({ lock: lock.name }, 'another sweep of this shard holds the lock; nothing to do');
        return finish('skipped_locked');
      }
    }
  } catch (err) {
    report.failure = failureOf(err);
    return finish('failed');
  }

  const cutoff = startedAt;
  const deadline = started + options.budgetMs;
  const queue: SyncOrder[] = [];
  const toRelease: SyncOrder[] = [];
  let exhausted = false;
  let claiming: Promise<void> | undefined;
  let stop: Stop | undefined;
  let failure: unknown;
  const halt = (why: Stop, err?: unknown) => {
    stop ??= why;
    if (err !== undefined) failure ??= err;
  };

  const claimPage = async () => {
    try {
      const page = await claimDueOrders(deps.pool, {
        cutoff,
        limit: options.pageSize,
        claimUntil: new Date(clock().getTime() + options.claimLeaseMs),
        shard: options.shard,
      });
      report.pages += 1;
      report.pageSelectMs.push(page.selectMs);
      queue.push(...page.orders);
      if (page.exhausted) exhausted = true;
      // Candidates were there but another run holds them: give it a moment to commit its claim.
      else if (page.orders.length === 0) await sleep(20);
    } catch (err) {
      halt('failed', err);
    }
  };
  const prefetch = () => {
    claiming ??= claimPage().finally(() => {
      claiming = undefined;
    });
    return claiming;
  };
  const feed = {
    next: async (): Promise<SyncOrder | undefined> => {
      for (;;) {
        if (deps.signal?.aborted) halt('interrupted');
        if (mono() >= deadline) halt('budget');
        if (stop) return undefined;
        if (!exhausted && queue.length <= options.pageSize / 2) void prefetch();
        const next = queue.shift();
        if (next) return next;
        if (exhausted && !claiming) return undefined;
        await claiming;
      }
    },
  };

  const schedules = new Batcher<ScheduleUpdate>((items) => writeSchedules(deps.pool, items), {
    maxBatch: 250,
    lingerMs: SWEEP_WRITE_LINGER_MS,
  });
  const count = (result: SyncResult) => {
    report.checked += 1;
    report.outcomes[result.outcome] = (report.outcomes[result.outcome] ?? 0) + 1;
    if (result.missedNotification) report.missedNotifications += 1;
    if (result.needsAttention) report.needsAttention += 1;
    report.rateLimited += result.rateLimited;
    if (result.outcome === 'error' && result.error) {
      report.errors[result.error.code] = (report.errors[result.error.code] ?? 0) + 1;
    }
  };

  try {
    await runWorkers({
      feed,
      concurrency: options.concurrency,
      stopped: () => stop !== undefined,
      work: async (order) => {
        let result: SyncResult;
        try {
          result = await syncOrder(deps.sync, order);
        } catch (err) {
          toRelease.push(order);
          halt('failed', err);
          return;
        }
        if (result.outcome === 'aborted') {
          toRelease.push(order);
          halt('breaker');
          return;
        }
        count(result);
        deps.onResult?.(result);
        if (result.schedule) {
          try {
            await schedules.add([result.schedule]);
          } catch (err) {
            halt('failed', err);
          }
        }
      },
    });
    await claiming;
    await schedules.idle();
    toRelease.push(...queue.splice(0));
    report.released = await releaseClaims(deps.pool, toRelease);
    report.remainingDue = await countDueOrders(deps.pool, cutoff, options.shard);
  } catch (err) {
    halt('failed', err);
  }

  if (stop === 'breaker') {
    const alert = wechatUnavailableAlert(
      deps.sync.origin.producer,
      clock(),
      `reconciler sweep ${report.shard}`,
      {
        shard: report.shard,
        checked: report.checked,
        released: report.released,
        remaining_due: report.remainingDue,
      },
    );
    await deps.sync.publisher.alerts([alert]).catch((err) => {
      deps.logger.error({ err }, 'could not publish the wechat_api_unavailable alert');
    });
  }
  await lock?.release();

  if (failure !== undefined) report.failure = failureOf(failure);
  if (stop === 'failed') return finish('failed');
  if (stop === 'breaker') return finish('breaker_open');
  if (stop === 'interrupted') return finish('interrupted');
  if (stop === 'budget' && report.remainingDue > 0) return finish('budget_exhausted');
  return finish('ok');
}
