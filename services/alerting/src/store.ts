import { isDuplicateKeyError, type Pool, type ResultSetHeader, type RowDataPacket } from '@paysync/db';
import { type Notice, notice as noticeSchema } from './notice.ts';
import type { Target } from './routes.ts';

// alert_deliveries is the ledger of who was told what. One row per (dedupe_key, alert_status,
// channel): the unique key is the claim, so two replicas (or a replay after a restart) cannot both
// queue the same delivery. Times come from the database clock, which every replica shares.

export type ClaimResult = 'queued' | 'rearmed' | 'duplicate' | 'suppressed';

/** What a delivery row stores in `payload`. */
export type StoredPayload = { notice: Notice; cooldownMs: number };

export type DueDelivery = {
  id: number;
  channel: string;
  attempts: number;
  createdAt: Date;
  payload: unknown;
};

const US = 1000; // DATE_ADD takes microseconds: ms × 1000.

function payloadOf(n: Notice, t: Target): string {
  const p: StoredPayload = { notice: n, cooldownMs: t.cooldownMs };
  return JSON.stringify(p);
}

/** Decodes a row's payload (MariaDB returns JSON columns as text, MySQL as objects). */
export function decodePayload(raw: unknown): StoredPayload | undefined {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  const v = value as { notice?: unknown; cooldownMs?: unknown } | null;
  const parsed = noticeSchema.safeParse(v?.notice);
  if (!parsed.success || typeof v?.cooldownMs !== 'number') return undefined;
  return { notice: parsed.data, cooldownMs: v.cooldownMs };
}

async function insert(pool: Pool, n: Notice, t: Target, state: 'pending' | 'suppressed', note?: string) {
  await pool.query(
    `INSERT INTO alert_deliveries
       (dedupe_key, alert_status, channel, alert_type, severity, state, attempts, payload, next_attempt_at,
        cooldown_until, last_error)
     VALUES (?, ?, ?, ?, ?, ?, 0, ?, ${state === 'pending' ? 'NOW(3)' : 'NULL'},
        ${state === 'pending' ? 'NULL' : 'NOW(3)'}, ?)`,
    [n.dedupeKey, n.status, t.channel, n.type, n.severity, state, payloadOf(n, t), note ?? null],
  );
}

/**
 * Claims a firing notice for one channel. A new key is queued; a key whose last delivery is done
 * and whose cooldown has passed is queued again (a reminder, or the problem came back); anything
 * else is a duplicate.
 */
export async function claimFiring(pool: Pool, n: Notice, t: Target): Promise<ClaimResult> {
  try {
    await insert(pool, n, t, 'pending');
    return 'queued';
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
  const [res] = await pool.query<ResultSetHeader>(
    `UPDATE alert_deliveries
        SET state = 'pending', attempts = 0, last_error = NULL, payload = ?, alert_type = ?, severity = ?,
            next_attempt_at = NOW(3), sent_at = NULL, cooldown_until = NULL, created_at = NOW(3)
      WHERE dedupe_key = ? AND alert_status = 'firing' AND channel = ?
        AND state <> 'pending' AND cooldown_until IS NOT NULL AND cooldown_until <= NOW(3)`,
    [payloadOf(n, t), n.type, n.severity, n.dedupeKey, t.channel],
  );
  return res.affectedRows === 1 ? 'rearmed' : 'duplicate';
}

/**
 * Claims a resolved notice for one channel. People are told "resolved" only about what they were
 * told fired: if the firing notice is still queued it is dropped and the resolved one (which says
 * when it started and ended) goes instead; if it was never delivered, nothing is sent.
 */
export async function claimResolved(pool: Pool, n: Notice, t: Target): Promise<ClaimResult> {
  const [rows] = await pool.query<(RowDataPacket & { state: string })[]>(
    `SELECT state FROM alert_deliveries WHERE dedupe_key = ? AND alert_status = 'firing' AND channel = ?`,
    [n.dedupeKey, t.channel],
  );
  const firing = rows[0]?.state;
  try {
    if (firing === 'pending') {
      await pool.query(
        `UPDATE alert_deliveries
            SET state = 'suppressed', next_attempt_at = NULL, last_error = 'resolved before it was sent',
                cooldown_until = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND)
          WHERE dedupe_key = ? AND alert_status = 'firing' AND channel = ? AND state = 'pending'`,
        [t.cooldownMs * US, n.dedupeKey, t.channel],
      );
    }
    if (firing === 'pending' || firing === 'sent') {
      await insert(pool, n, t, 'pending');
      return 'queued';
    }
    await insert(pool, n, t, 'suppressed', 'its firing notice was not delivered on this channel');
    return 'suppressed';
  } catch (err) {
    if (isDuplicateKeyError(err)) return 'duplicate';
    throw err;
  }
}

/** Deliveries of one channel that are due, oldest first. */
export async function dueDeliveries(pool: Pool, channel: string, limit: number): Promise<DueDelivery[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT id, channel, attempts, created_at, payload FROM alert_deliveries
      WHERE state = 'pending' AND channel = ? AND next_attempt_at <= NOW(3)
      ORDER BY next_attempt_at, id LIMIT ?`,
    [channel, limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    channel: String(r.channel),
    attempts: Number(r.attempts),
    createdAt: r.created_at as Date,
    payload: r.payload,
  }));
}

/**
 * Takes a due delivery for this process: counts the attempt and pushes its next attempt past the
 * lease, so another replica does not send it meanwhile, and a crash mid-send retries it later.
 * False when another replica took it first.
 */
export async function leaseDelivery(pool: Pool, d: DueDelivery, leaseMs: number): Promise<boolean> {
  const [res] = await pool.query<ResultSetHeader>(
    `UPDATE alert_deliveries SET attempts = attempts + 1, next_attempt_at = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND)
      WHERE id = ? AND state = 'pending' AND attempts = ? AND next_attempt_at <= NOW(3)`,
    [leaseMs * US, d.id, d.attempts],
  );
  return res.affectedRows === 1;
}

export async function markSent(pool: Pool, id: number, cooldownMs: number): Promise<void> {
  await pool.query(
    `UPDATE alert_deliveries
        SET state = 'sent', sent_at = NOW(3), next_attempt_at = NULL, last_error = NULL,
            cooldown_until = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND)
      WHERE id = ? AND state = 'pending'`,
    [cooldownMs * US, id],
  );
}

export async function markRetry(pool: Pool, id: number, delayMs: number, error: string): Promise<void> {
  await pool.query(
    `UPDATE alert_deliveries SET next_attempt_at = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND), last_error = ?
      WHERE id = ? AND state = 'pending'`,
    [Math.round(delayMs) * US, error.slice(0, 1024), id],
  );
}

export async function markFailed(pool: Pool, id: number, error: string): Promise<void> {
  await pool.query(
    `UPDATE alert_deliveries SET state = 'failed', next_attempt_at = NULL, last_error = ?, cooldown_until = NOW(3)
      WHERE id = ? AND state = 'pending'`,
    [error.slice(0, 1024), id],
  );
}

/** Gives a leased delivery back without counting the attempt (the breaker refused to try). */
export async function releaseDelivery(pool: Pool, id: number): Promise<void> {
  await pool.query(
    `UPDATE alert_deliveries SET attempts = IF(attempts > 0, attempts - 1, 0), next_attempt_at = NOW(3)
      WHERE id = ? AND state = 'pending'`,
    [id],
  );
}

export type PendingStats = { channel: string; pending: number; oldestSeconds: number };

/** Queued deliveries per channel and the age of the oldest, for the scrape-time gauges. */
export async function pendingStats(pool: Pool): Promise<PendingStats[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT channel, COUNT(*) AS n, TIMESTAMPDIFF(MICROSECOND, MIN(created_at), NOW(3)) AS oldest_us
       FROM alert_deliveries WHERE state = 'pending' GROUP BY channel`,
  );
  return rows.map((r) => ({
    channel: String(r.channel),
    pending: Number(r.n),
    oldestSeconds: Math.max(0, Number(r.oldest_us) / 1e6),
  }));
}
