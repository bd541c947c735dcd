import {
  findReview,
  listReviews,
  RESOLUTIONS_BY_KIND,
  REVIEW_RESOLUTIONS,
  type ReviewResolution,
  type ReviewRow,
  resolveReview,
} from '@paysync/db';
import { insertAudit } from '@paysync/reconcile';
import { CommandFailedError, type ExitCode, UsageError } from '../errors.ts';
import { iso, json, table } from '../format.ts';
import type { Io } from '../io.ts';
import { actorOf, positiveInt, reasonFor } from '../options.ts';
import type { Resources } from '../resources.ts';

/**
 * Payment reviews: settlement mismatches and late payments a person must decide about. They stay
 * open — and PaysyncSettlementMismatch / PaysyncLatePayments keep firing — until `review resolve`.
 */

export type ReviewFlags = {
  json?: boolean;
  actor?: string;
  reason?: string;
  resolution?: string;
  limit?: string;
  all?: boolean;
  order?: string;
  dryRun?: boolean;
};

function rows(reviews: readonly ReviewRow[]): string {
  return table(
    ['id', 'kind', 'out_trade_no', 'transaction_id', 'seen', 'first seen', 'detail', 'resolved'],
    reviews.map((r) => [
      String(r.id),
      r.kind,
      r.outTradeNo,
      r.transactionId || '-',
      String(r.seenCount),
      iso(r.firstSeenAt),
      r.detail ?? '',
      r.resolvedAt ? `${r.resolution} by ${r.resolvedBy} ${iso(r.resolvedAt)}` : 'open',
    ]),
  );
}

/** payctl review list: the open reviews (or --all, or one order's with --order). */
export async function reviewListCommand(res: Resources, io: Io, flags: ReviewFlags): Promise<ExitCode> {
  const limit = flags.limit ? positiveInt('--limit', flags.limit, 10_000) : 100;
  const pool = res.pool();
  const reviews = await listReviews(
    pool,
    flags.order ? { outTradeNo: flags.order } : flags.all ? { limit } : { open: true, limit },
  );
  if (flags.json) json(io, reviews);
  else
    io.out(
      reviews.length === 0
        ? flags.all || flags.order
          ? 'no reviews\n'
          : 'no open reviews\n'
        : rows(reviews),
    );
  return 0;
}

function resolutionArg(value: string | undefined): ReviewResolution {
  if (value === undefined)
    throw new UsageError(`--resolution is required: one of ${REVIEW_RESOLUTIONS.join(', ')}`);
  if (!(REVIEW_RESOLUTIONS as readonly string[]).includes(value))
    throw new UsageError(`--resolution: one of ${REVIEW_RESOLUTIONS.join(', ')}`);
  return value as ReviewResolution;
}

/** payctl review resolve <id> --resolution … --reason …: a person answered it (audited). */
export async function reviewResolveCommand(
  res: Resources,
  io: Io,
  id: string,
  flags: ReviewFlags,
): Promise<ExitCode> {
  const dryRun = Boolean(flags.dryRun);
  const n = positiveInt('review id', id, Number.MAX_SAFE_INTEGER);
  const resolution = resolutionArg(flags.resolution);
  const reason = reasonFor(dryRun, flags.reason);
  const actor = actorOf(io, flags.actor, dryRun);
  const pool = res.pool();
  const before = await findReview(pool, n);
  if (!before) throw new CommandFailedError(`review ${n} does not exist (payctl review list)`);
  if (!RESOLUTIONS_BY_KIND[before.kind].includes(resolution))
    throw new UsageError(
      `--resolution ${resolution} does not answer a ${before.kind} review: one of ${RESOLUTIONS_BY_KIND[before.kind].join(', ')}`,
    );
  if (before.resolvedAt)
    throw new CommandFailedError(
      `review ${n} is resolved already (${before.resolution} by ${before.resolvedBy} at ${iso(before.resolvedAt)})`,
    );
  if (dryRun) {
    if (flags.json) json(io, { dryRun: true, review: before, resolution });
    else
      io.out(`dry run: review ${n} (${before.kind}, ${before.outTradeNo}) would be resolved ${resolution}\n`);
    return 0;
  }
  const { closed, review } = await resolveReview(
    pool,
    n,
    { resolution, actor, reason: reason as string },
    new Date(),
  );
  if (!closed || !review)
    throw new CommandFailedError(
      `review ${n} was resolved by someone else meanwhile (payctl review list --all)`,
    );
  await insertAudit(pool, {
    actor,
    tool: 'payctl',
    action: 'review_resolve',
    reason: reason as string,
    dryRun: false,
    outTradeNo: review.outTradeNo,
    before: { review: before.id, kind: before.kind, resolved_at: null },
    after: { review: review.id, kind: review.kind, resolution, resolved_at: review.resolvedAt },
  });
  if (flags.json) json(io, review);
  else
    io.out(`review ${review.id} (${review.kind}, ${review.outTradeNo}) resolved ${resolution} by ${actor}\n`);
  return 0;
}
