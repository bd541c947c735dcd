import type { Pool } from '@paysync/db';

/**
 * Pending orders straight into payment_orders, 1,000 a statement, named `<prefix><n>` with n padded
 * to `digits`: what the order API would have stored, without its WeChat Pay round trip.
 */
export async function seedPendingOrders(
  pool: Pool,
  opts: {
    prefix: string;
    count: number;
    digits: number;
    mchid: string;
    appid: string;
    amountFen: number;
    points: number;
    bonusPoints: number;
    expiresAt: Date;
    /** When the reconciler's sweep may first look at them. */
    nextCheckAt: Date;
  },
): Promise<string[]> {
  const nos: string[] = [];
  for (let i = 0; i < opts.count; i += 1000) {
    const rows: unknown[] = [];
    const marks: string[] = [];
    for (let j = i; j < Math.min(opts.count, i + 1000); j++) {
      const no = `${opts.prefix}${String(j).padStart(opts.digits, '0')}`;
      nos.push(no);
      marks.push("(?, ?, ?, ?, 'NATIVE', 'bench', ?, ?, ?, 'pending', ?, ?)");
      rows.push(
        no,
        `bench-user-${j % 4999}`,
        opts.mchid,
        opts.appid,
        opts.amountFen,
        opts.points,
        opts.bonusPoints,
        opts.expiresAt,
        opts.nextCheckAt,
      );
    }
    await pool.query(
      `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total, points, bonus_points, status, time_expire, next_check_at) VALUES ${marks.join(', ')}`,
      rows,
    );
  }
  return nos;
}
