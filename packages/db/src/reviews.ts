import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

/**
 * Payment reviews (migration 0008): payments a person must decide about, open until one does. The
 * ledger opens them (a settlement mismatch, a late payment) in the transaction that journals the
 * observation; payctl closes them; the ledger's gauge paysync_ledger_open_reviews counts the open
 * ones for the alerts PaysyncSettlementMismatch and PaysyncLatePayments.
 */

export const REVIEW_KINDS = ['mismatch', 'late_payment'] as const;
export type ReviewKind = (typeof REVIEW_KINDS)[number];

/** What a person did: kept the payment (late), refunded it, it was not this merchant's, other. */
export const REVIEW_RESOLUTIONS = ['kept', 'refunded', 'not_ours', 'other'] as const;
export type ReviewResolution = (typeof REVIEW_RESOLUTIONS)[number];

/** The answers that make sense for each kind (a mismatch was never credited: nothing to keep). */
export const RESOLUTIONS_BY_KIND: Readonly<Record<ReviewKind, readonly ReviewResolution[]>> = {
  mismatch: ['refunded', 'not_ours', 'other'],
  late_payment: ['kept', 'refunded', 'other'],
};

export type NewReview = {
  kind: ReviewKind;
  outTradeNo: string;
  transactionId: string | undefined;
  observationId: string;
  detail: string;
  observedFen: number | undefined;
};

export type ReviewRow = {
  id: number;
  kind: ReviewKind;
  outTradeNo: string;
  transactionId: string;
  observationId: string;
  detail: string | null;
  observedFen: number | null;
  seenCount: number;
  firstSeenAt: Date;
  lastSeenAt: Date;
  resolution: ReviewResolution | null;
  resolvedBy: string | null;
  resolvedReason: string | null;
  resolvedAt: Date | null;
};

type Row = RowDataPacket & Record<string, unknown>;
type Queryable = Pick<Pool, 'query'> | Pick<PoolConnection, 'query'>;

function toReview(r: Row): ReviewRow {
  return {
    id: Number(r.id),
    kind: r.kind as ReviewKind,
    outTradeNo: r.out_trade_no as string,
    transactionId: r.transaction_id as string,
    observationId: r.observation_id as string,
    detail: (r.detail as string | null) ?? null,
    observedFen: r.observed_fen === null || r.observed_fen === undefined ? null : Number(r.observed_fen),
    seenCount: Number(r.seen_count),
    firstSeenAt: r.first_seen_at as Date,
    lastSeenAt: r.last_seen_at as Date,
    resolution: (r.resolution as ReviewResolution | null) ?? null,
    resolvedBy: (r.resolved_by as string | null) ?? null,
    resolvedReason: (r.resolved_reason as string | null) ?? null,
    resolvedAt: (r.resolved_at as Date | null) ?? null,
  };
}

/**
 * Opens reviews, inside the caller's transaction. The same order, kind and transaction seen again
 * counts as seen once more and stays as it is (open, or answered: an answer is not undone by the
 * sweep asking WeChat about the same payment again).
 */
export async function openReviews(conn: Queryable, reviews: readonly NewReview[], now: Date): Promise<void> {
  if (reviews.length === 0) return;
  await conn.query(
    `INSERT INTO payment_reviews
       (kind, out_trade_no, transaction_id, observation_id, detail, observed_fen, first_seen_at, last_seen_at)
     VALUES ?
     ON DUPLICATE KEY UPDATE seen_count = seen_count + 1, last_seen_at = VALUES(last_seen_at)`,
    [
      reviews.map((r) => [
        r.kind,
        r.outTradeNo,
        r.transactionId ?? '',
        r.observationId,
        r.detail.slice(0, 512),
        r.observedFen ?? null,
        now,
        now,
      ]),
    ],
  );
}

/** Open reviews by kind (every kind present, 0 when none): the ledger's gauge. */
export async function openReviewCounts(db: Queryable): Promise<Map<ReviewKind, number>> {
  const [rows] = await db.query<(RowDataPacket & { kind: ReviewKind; n: number })[]>(
    'SELECT kind, COUNT(*) AS n FROM payment_reviews WHERE resolved_at IS NULL GROUP BY kind',
  );
  const counts = new Map<ReviewKind, number>(REVIEW_KINDS.map((k) => [k, 0]));
  for (const r of rows) counts.set(r.kind, Number(r.n));
  return counts;
}

/** Reviews, newest first: the open ones, or all of one order's. */
export async function listReviews(
  db: Queryable,
  filter: { open: true; limit: number } | { outTradeNo: string } | { limit: number },
): Promise<ReviewRow[]> {
  const [rows] =
    'outTradeNo' in filter
      ? await db.query<Row[]>('SELECT * FROM payment_reviews WHERE out_trade_no = ? ORDER BY id DESC', [
          filter.outTradeNo,
        ])
      : 'open' in filter
        ? await db.query<Row[]>(
            'SELECT * FROM payment_reviews WHERE resolved_at IS NULL ORDER BY id DESC LIMIT ?',
            [filter.limit],
          )
        : await db.query<Row[]>('SELECT * FROM payment_reviews ORDER BY id DESC LIMIT ?', [filter.limit]);
  return rows.map(toReview);
}

export async function findReview(db: Queryable, id: number): Promise<ReviewRow | undefined> {
  const [rows] = await db.query<Row[]>('SELECT * FROM payment_reviews WHERE id = ?', [id]);
  return rows[0] ? toReview(rows[0]) : undefined;
}

/**
 * Closes an open review with a person's answer. Returns the review as it is now, and whether this
 * call closed it (false: it was answered already, and stays as that answer said).
 */
export async function resolveReview(
  db: Queryable,
  id: number,
  answer: { resolution: ReviewResolution; actor: string; reason: string },
  now: Date,
): Promise<{ closed: boolean; review: ReviewRow | undefined }> {
  const [result] = await db.query<ResultSetHeader>(
    `UPDATE payment_reviews SET resolution = ?, resolved_by = ?, resolved_reason = ?, resolved_at = ?
      WHERE id = ? AND resolved_at IS NULL`,
    [answer.resolution, answer.actor.slice(0, 128), answer.reason.slice(0, 1024), now, id],
  );
  return { closed: result.affectedRows > 0, review: await findReview(db, id) };
}
