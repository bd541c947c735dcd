import { type Clock, dateClock, systemClock } from '@paysync/contracts';
import { type Pool, selectDueRefunds } from '@paysync/db';
import type { Logger } from '@paysync/observability';
import { driveStoredRefund, type RefundApi } from '@paysync/orders';
import { tryAdvisoryLock } from './lock.ts';
import type { Publisher } from './publisher.ts';

export type RefundSweepDeps = {
  pool: Pool;
  wechat: RefundApi;
  publisher: Publisher;
  logger: Logger;
  producer: string;
  /** paysync's notify URL: every refund create carries it. Without it, creates wait. */
  notifyUrl: string | undefined;
  clock?: Clock;
  /** Called before each WeChat call (the sweep's shared rate limit). */
  pace?: () => Promise<void>;
};

export type RefundSweepReport = {
  status: 'ok' | 'skipped_locked' | 'failed';
  checked: number;
  /** What WeChat said, by its status (PROCESSING, SUCCESS, CLOSED, ABNORMAL). */
  answered: Record<string, number>;
  retried: number;
  rejected: number;
  /** Signed answers that named another refund or order: nothing applied, asked again later. */
  mismatched: number;
  /** Creates not sent because no notify URL is configured. */
  waiting: number;
  failure?: string;
};

const LOCK = 'paysync_refund_sweep';

/**
 * Drives every refund under way whose next step is due: sends the create again (same out_refund_no,
 * same amount) until WeChat answers it, then asks about it on the refund back-off until it is final —
 * so a lost refund notification, or a create that timed out after WeChat accepted it, is recovered.
 * One run at a time across shards (a named lock); never throws.
 */
export async function sweepRefunds(
  deps: RefundSweepDeps,
  options: { limit: number },
): Promise<RefundSweepReport> {
  const report: RefundSweepReport = {
    status: 'ok',
    checked: 0,
    answered: {},
    retried: 0,
    rejected: 0,
    mismatched: 0,
    waiting: 0,
  };
  const clock = dateClock(deps.clock);
  let lock: Awaited<ReturnType<typeof tryAdvisoryLock>> | undefined;
  try {
    lock = await tryAdvisoryLock(deps.pool, LOCK);
    if (!lock.acquired) return { ...report, status: 'skipped_locked' };
    const due = await selectDueRefunds(deps.pool, clock(), options.limit);
    for (const refund of due) {
      if (refund.submittedAt === null && deps.notifyUrl === undefined) {
        report.waiting += 1;
        continue;
      }
      await deps.pace?.();
      report.checked += 1;
      const result = await driveStoredRefund(
        {
          pool: deps.pool,
          wechat: deps.wechat,
          publish: (obs) => deps.publisher.observations([obs]),
          notifyUrl: deps.notifyUrl ?? '',
          producer: deps.producer,
          clock: deps.clock ?? systemClock,
        },
        refund,
      );
      if (result.kind === 'answered')
        report.answered[result.status] = (report.answered[result.status] ?? 0) + 1;
      else if (result.kind === 'rejected') report.rejected += 1;
      else if (result.kind === 'mismatched') {
        // WeChat's signature over someone else's refund: never applied, and never the end of the
        // run for the refunds after it.
        report.mismatched += 1;
        deps.logger.error(
          { out_refund_no: refund.outRefundNo, out_trade_no: refund.outTradeNo },
          `refund ${refund.outRefundNo}: ${result.error}; nothing applied, asked again later`,
        );
      } else report.retried += 1;
    }
    if (report.waiting > 0) {
      deps.logger.error(
        { waiting: report.waiting },
        'refunds wait to be sent to WeChat Pay: set WECHATPAY_NOTIFY_URL for the reconciler',
      );
    }
    await deps.publisher.idle();
    return report;
  } catch (err) {
    deps.logger.error({ err }, 'refund sweep failed');
    return { ...report, status: 'failed', failure: err instanceof Error ? err.name : 'error' };
  } finally {
    await lock?.release();
  }
}
