// What the demo shows is read from the system itself: the orders and the ledger in MySQL, the
// reconciler's counter on the Pushgateway, the alerting service's delivery log, and what the
// sandbox did with each notification.
import type { Pool, RowDataPacket } from '@paysync/db';
import type { SandboxControl } from '../start/clients.ts';

export type Snapshot = {
  byStatus: Record<string, number>;
  settledVia: { notification: number; query: number; manual: number };
  pointsCredited: number;
  usersCredited: number;
  notificationsLost: number;
  duplicatesDelivered: number;
  missedDetected: number | undefined;
  alertsSent: { type: string; channel: string; n: number }[];
};

type Row = RowDataPacket & Record<string, unknown>;

/** Sum of a counter over all its series on a Prometheus text page, or undefined when absent. */
export function counterSum(metricsText: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

export async function missedNotificationsCounter(
  pushgatewayUrl: string | undefined,
): Promise<number | undefined> {
  if (!pushgatewayUrl) return undefined;
  try {
    const res = await fetch(`${pushgatewayUrl}/metrics`, { signal: AbortSignal.timeout(3000) });
    return counterSum(await res.text(), 'paysync_reconciler_missed_notifications_total') ?? 0;
  } catch {
    return undefined;
  }
}

export async function snapshot(
  deps: { pool: Pool; sandbox: SandboxControl; pushgatewayUrl: string | undefined },
  orders: readonly string[],
  since: Date,
  missedAtStart: number | undefined,
): Promise<Snapshot> {
  const snap: Snapshot = {
    byStatus: {},
    settledVia: { notification: 0, query: 0, manual: 0 },
    pointsCredited: 0,
    usersCredited: 0,
    notificationsLost: 0,
    duplicatesDelivered: 0,
    missedDetected: undefined,
    alertsSent: [],
  };
  if (orders.length > 0) {
    const [rows] = await deps.pool.query<Row[]>(
      `SELECT status, settled_via, COUNT(*) AS n FROM payment_orders WHERE out_trade_no IN (?)
        GROUP BY status, settled_via`,
      [orders],
    );
    for (const r of rows) {
      const status = String(r.status);
      snap.byStatus[status] = (snap.byStatus[status] ?? 0) + Number(r.n);
      const via = r.settled_via as keyof Snapshot['settledVia'] | null;
      if (via && (status === 'paid' || status === 'refunded')) snap.settledVia[via] += Number(r.n);
    }
    const [[credit]] = await deps.pool.query<Row[]>(
      `SELECT COALESCE(SUM(points_delta), 0) AS points, COUNT(DISTINCT user_id) AS users
         FROM point_transactions WHERE out_trade_no IN (?) AND entry_type = 'recharge'`,
      [orders],
    );
    snap.pointsCredited = Number(credit?.points ?? 0);
    snap.usersCredited = Number(credit?.users ?? 0);
  }
  const [alerts] = await deps.pool.query<Row[]>(
    `SELECT alert_type, channel, COUNT(*) AS n FROM alert_deliveries
      WHERE state = 'sent' AND sent_at >= ? GROUP BY alert_type, channel ORDER BY alert_type, channel`,
    [since],
  );
  snap.alertsSent = alerts.map((a) => ({
    type: String(a.alert_type),
    channel: String(a.channel),
    n: Number(a.n),
  }));
  const mine = new Set(orders);
  for (const n of await deps.sandbox.notifications()) {
    if (!mine.has(n.outTradeNo)) continue;
    if (n.state === 'dropped') snap.notificationsLost += 1;
    snap.duplicatesDelivered += n.attempts.filter((a) => a.duplicate && a.outcome === 'acknowledged').length;
  }
  const missed = await missedNotificationsCounter(deps.pushgatewayUrl);
  if (missed !== undefined && missedAtStart !== undefined) snap.missedDetected = missed - missedAtStart;
  return snap;
}
