import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Clock, dateClock } from '@paysync/contracts';
import type { Pool } from '@paysync/db';
import { type RefundApi, refundObservationByNumber } from '@paysync/orders';
import {
  addDays,
  type BillClient,
  BillIntegrityError,
  beijingDayRange,
  billChunks,
  type DownloadedBill,
  fetchTradeBill,
  NoStatementError,
  parseTradeBill,
  StatementCreatingError,
  type TradeBillTotals,
  WeChatPayError,
} from '@paysync/wechatpay';
import {
  BillDiffer,
  DIFFERENCE_CLASSES,
  type Difference,
  type DifferenceClass,
  difference,
  ESCALATED,
} from './bill-diff.ts';
import { PaidOrderSet } from './bill-paid-set.ts';
import {
  type BillRunStatus,
  billBooks,
  type DifferenceRecord,
  escalateHeld,
  heldDifferences,
  openCriticalCount,
  pendingActions,
  recordAction,
  recordDifferences,
  resolveHeld,
  startBillRun,
  updateBillRun,
} from './bill-store.ts';
import { ReconcileError } from './errors.ts';
import { tryAdvisoryLock } from './lock.ts';
import { loadOrders } from './lookup.ts';
import type { ObservationOrigin } from './observation.ts';
import type { Publisher } from './publisher.ts';
import { syncOrder } from './sync.ts';
import type { SyncDeps } from './sync-types.ts';

/**
 * Where the refund query plugs in: fetch the refund by its out_refund_no at WeChat Pay and apply it
 * through the refund path (an observation the ledger checks). `done: false` leaves the action
 * pending: it is tried again on the next run.
 */
export type RefundQuery = (refund: { outTradeNo: string | null; outRefundNo: string }) => Promise<{
  done: boolean;
  result: string;
}>;

/**
 * The refund query: WeChat's signed answer about the refund (`GET /v3/refund/domestic/refunds/{no}`),
 * published as an observation — the ledger applies it as it would the refund's notification: one
 * reversal per out_refund_no, a refund row of origin `wechat` when paysync did not make it. A refund
 * still PROCESSING is asked about again on the next run.
 */
export function refundQueryThroughLedger(deps: {
  wechat: Pick<RefundApi, 'queryRefund'>;
  publisher: Publisher;
  mchid: string;
  origin: ObservationOrigin;
  clock?: Clock;
}): RefundQuery {
  return async (refund) => {
    const observation = await refundObservationByNumber(
      deps.wechat,
      { outRefundNo: refund.outRefundNo, mchid: deps.mchid },
      {
        observationId: randomUUID(),
        source: 'query',
        observedAt: dateClock(deps.clock)(),
        producer: deps.origin.producer,
      },
    );
    await deps.publisher.observations([observation]);
    const status = observation.refund?.refundStatus ?? 'unknown';
    return {
      done: status !== 'PROCESSING',
      result: `queried: ${status}; the ledger applies WeChat's signed answer`,
    };
  };
}

export interface BillRunDeps {
  pool: Pool;
  /** Signs the bill calls and the refund queries (WeChatPayClient). */
  client: BillClient & Pick<RefundApi, 'queryRefund'>;
  mchid: string;
  /** `query_order` actions go through the order sync: query, publish the signed answer, the ledger settles. */
  sync: SyncDeps;
  queryRefund?: RefundQuery;
  clock?: Clock;
  /** Keep a copy of each verified file here (`<dir>/<mchid>/tradebill-ALL-<date>-<sha1>.csv[.gz]`). */
  archiveDir?: string | undefined;
}

export interface BillRunOptions {
  /** The Beijing day, YYYY-MM-DD. */
  billDate: string;
  /** Days a payment or reversal absent from the bill is held for later bills (default 1). */
  holdDays?: number;
  /** A run finding more than this fails (the wrong merchant's bill or database). Default 10,000. */
  maxDifferences?: number;
}

export interface BillRunSummary {
  mchid: string;
  billDate: string;
  billType: 'ALL';
  /** `locked`: another run of this day holds the lock; nothing was done. */
  status: BillRunStatus | 'locked';
  /** 0 the run did its job (differences are reported, not failures); 1 it did not. */
  exitCode: 0 | 1;
  error: { code: string; message: string } | null;
  file: { sha1: string; size: number; gzip: boolean; location: string; archivePath: string | null } | null;
  totals: TradeBillTotals | null;
  /** Differences this run found for the day, by class. */
  differences: Record<DifferenceClass, number>;
  /** Critical differences of the day nobody has resolved, plus held ones of earlier days escalated by this run. */
  critical: number;
  held: { resolved: number; escalated: number };
  actions: { done: number; pending: number; failed: number };
  durationSeconds: number;
}

export const BILL_DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export class InvalidBillDateError extends ReconcileError {
  constructor(value: string) {
    super('INVALID_BILL_DATE', `bill date must be a past day as YYYY-MM-DD (got "${value}")`);
  }
}

function countByClass(found: readonly Difference[]): Record<DifferenceClass, number> {
  const counts = Object.fromEntries(DIFFERENCE_CLASSES.map((c) => [c, 0])) as Record<DifferenceClass, number>;
  for (const d of found) counts[d.class] += 1;
  return counts;
}

const errorOf = (err: unknown) => ({
  code: (err as { code?: string }).code ?? 'UNKNOWN',
  message: err instanceof Error ? err.message : String(err),
});

async function archive(dir: string, mchid: string, bill: DownloadedBill): Promise<string> {
  const folder = join(dir, mchid);
  await mkdir(folder, { recursive: true });
  const path = join(
    folder,
    `tradebill-${bill.billType}-${bill.billDate}-${bill.sha1}.csv${bill.gzip ? '.gz' : ''}`,
  );
  await writeFile(path, bill.body);
  return path;
}

/**
 * One trade-bill reconciliation of a Beijing day: apply, download and verify the bill, read it, diff
 * it with the books in both directions, record the run and its differences, and act on them
 * (`query_order` through the order sync; `query_refund` through `queryRefund`). A file that fails a
 * check is never diffed. Running a day again gives the same differences and never acts twice.
 */
export async function runTradeBill(deps: BillRunDeps, options: BillRunOptions): Promise<BillRunSummary> {
  const started = performance.now();
  const clock = dateClock(deps.clock);
  const { billDate } = options;
  if (!BILL_DATE_PATTERN.test(billDate)) throw new InvalidBillDateError(billDate);
  const day = beijingDayRange(billDate);
  if (day.end.getTime() > clock().getTime() + 86_400_000) throw new InvalidBillDateError(billDate);
  const holdDays = options.holdDays ?? 1;
  const key = { mchid: deps.mchid, billDate, billType: 'ALL' as const };
  const summary: BillRunSummary = {
    ...key,
    status: 'running',
    exitCode: 1,
    error: null,
    file: null,
    totals: null,
    differences: countByClass([]),
    critical: 0,
    held: { resolved: 0, escalated: 0 },
    actions: { done: 0, pending: 0, failed: 0 },
    durationSeconds: 0,
  };
  const done = () => ({ ...summary, durationSeconds: (performance.now() - started) / 1000 });

  const lock = await tryAdvisoryLock(deps.pool, `paysync.trade-bill.${deps.mchid}.${billDate}`);
  if (!lock.acquired) return { ...done(), status: 'locked', exitCode: 0 };
  try {
    const runId = await startBillRun(deps.pool, key, clock());
    const finish = async (status: BillRunStatus, found: Difference[] | null, error?: unknown) => {
      summary.status = status;
      if (error !== undefined) summary.error = errorOf(error);
      if (found) {
        summary.differences = countByClass(found);
        summary.critical += await openCriticalCount(deps.pool, deps.mchid, billDate);
      }
      await updateBillRun(deps.pool, runId, {
        status,
        errorCode: summary.error?.code ?? null,
        errorDetail: summary.error?.message.slice(0, 1024) ?? null,
        differences: found?.length ?? null,
        criticalDifferences: summary.critical,
        finishedAt: clock(),
      });
      return done();
    };
    const books = billBooks(deps.pool);
    const held = await heldDifferences(deps.pool, deps.mchid, addDays(billDate, -holdDays), billDate);
    const differ = new BillDiffer(books, {
      mchid: deps.mchid,
      day,
      maxDifferences: options.maxDifferences ?? 10_000,
      awaited: new Set(held.map((d) => d.refKey)),
    });

    let bill: DownloadedBill;
    try {
      bill = await fetchTradeBill(deps.client, billDate, 'ALL', { onApplied: () => differ.prefetch() });
    } catch (err) {
      if (err instanceof StatementCreatingError) return await finish('statement_creating', null, err);
      if (err instanceof NoStatementError) {
        const paid = await books.paidBetween(deps.mchid, day.start, day.end, new PaidOrderSet());
        const found =
          paid > 0
            ? [difference('no_statement', { refKey: billDate }, { paid_orders: paid }, { code: err.code })]
            : [];
        const now = clock();
        await recordDifferences(deps.pool, key, found, now, { clear: true });
        // No bill carries the held rows either: they move on towards escalation.
        await settleHeld(deps.pool, billDate, holdDays, held, new Set(), now, summary);
        const result = await finish('no_statement', found, paid > 0 ? err : undefined);
        return { ...result, exitCode: paid > 0 ? 1 : 0 };
      }
      if (err instanceof BillIntegrityError) return await integrityFailure(err);
      return await finish('failed', null, err);
    }

    async function integrityFailure(err: BillIntegrityError) {
      const found = [
        difference('file_integrity', { refKey: err.reason }, null, { detail: err.message.slice(0, 256) }),
      ];
      await recordDifferences(deps.pool, key, found, clock(), { clear: false });
      return finish('failed', found, err);
    }

    const archivePath = deps.archiveDir ? await archive(deps.archiveDir, deps.mchid, bill) : null;
    summary.file = {
      sha1: bill.sha1,
      size: bill.size,
      gzip: bill.gzip,
      location: bill.location,
      archivePath,
    };
    await updateBillRun(deps.pool, runId, {
      fileSha1: bill.sha1,
      fileSize: bill.size,
      fileLocation: bill.location.slice(0, 512),
      archivePath,
    });

    let found: Difference[];
    try {
      summary.totals = await parseTradeBill(billChunks(bill.body), { onRows: (rows) => differ.rows(rows) });
      found = await differ.finish();
    } catch (err) {
      if (err instanceof BillIntegrityError) return await integrityFailure(err);
      return await finish('failed', null, err);
    }
    const t = summary.totals;
    await updateBillRun(deps.pool, runId, {
      rows: t.rows,
      paymentRows: t.payments,
      refundRows: t.refunds,
      revokedRows: t.revoked,
      settlementTotal: t.settlementTotal,
      refundTotal: t.refundTotal,
      feeTotal: t.feeTotal,
      orderTotal: t.orderTotal,
    });

    // The file passed every check: only now is anything recorded or acted on.
    const now = clock();
    await recordDifferences(deps.pool, key, found, now, { clear: true });
    await settleHeld(deps.pool, billDate, holdDays, held, differ.found, now, summary);

    await act(deps, await pendingActions(deps.pool, deps.mchid, billDate), summary.actions);
    const result = await finish('succeeded', found);
    return { ...result, exitCode: 0 };
  } finally {
    await lock.release();
  }
}

/**
 * Held differences of earlier days: resolved when this bill carries their row; escalated (open, with
 * their escalated action and severity) when the last day of their hold has passed without it.
 */
async function settleHeld(
  pool: Pool,
  billDate: string,
  holdDays: number,
  held: readonly DifferenceRecord[],
  found: ReadonlySet<string>,
  now: Date,
  summary: BillRunSummary,
): Promise<void> {
  const resolved = held.filter((d) => found.has(d.refKey));
  await resolveHeld(
    pool,
    resolved.map((d) => d.id),
    billDate,
    now,
  );
  const lastChance = addDays(billDate, -holdDays);
  const escalated = held.filter(
    (d) => !found.has(d.refKey) && d.billDate <= lastChance && d.class in ESCALATED,
  );
  await escalateHeld(
    pool,
    escalated.map((d) => ({ id: d.id, ...ESCALATED[d.class as keyof typeof ESCALATED] })),
  );
  summary.held = { resolved: resolved.length, escalated: escalated.length };
  summary.critical += escalated.length;
}

/** Runs each pending query once; a query that could not be made stays pending for the next run. */
async function act(deps: BillRunDeps, pending: DifferenceRecord[], tally: BillRunSummary['actions']) {
  const queryRefund =
    deps.queryRefund ??
    refundQueryThroughLedger({
      wechat: deps.client,
      publisher: deps.sync.publisher,
      mchid: deps.mchid,
      origin: deps.sync.origin,
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
  const orders = await loadOrders(
    deps.pool,
    pending.filter((d) => d.action === 'query_order' && d.outTradeNo).map((d) => d.outTradeNo as string),
  );
  for (const d of pending) {
    let status: 'done' | 'pending' | 'failed';
    let result: string;
    if (d.action === 'query_order') {
      const order = d.outTradeNo ? orders.get(d.outTradeNo) : undefined;
      if (!order) {
        status = 'failed';
        result = 'the order is no longer in the database';
      } else {
        const synced = await syncOrder({ ...deps.sync, closeExpired: false }, order);
        const retry = synced.outcome === 'error' || synced.outcome === 'aborted';
        status = retry ? 'pending' : 'done';
        result = `queried: ${synced.outcome}${synced.error ? ` (${synced.error.code})` : ''}; the ledger applies WeChat's signed answer`;
      }
    } else {
      try {
        const answer = await queryRefund({
          outTradeNo: d.outTradeNo,
          outRefundNo: d.outRefundNo ?? d.refKey,
        });
        status = answer.done ? 'done' : 'pending';
        result = answer.result;
      } catch (err) {
        if (!(err instanceof WeChatPayError)) throw err;
        status = 'pending';
        result = `refund query failed: ${err.code}`;
      }
    }
    tally[status] += 1;
    await recordAction(deps.pool, d.id, status, result);
  }
}
