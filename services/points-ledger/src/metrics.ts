import { DLQ_HANDLED_GROUP } from '@paysync/contracts';
import { openReviewCounts, type Pool, type RowDataPacket } from '@paysync/db';
import { fetchDlqPartitions, unhandledCount } from '@paysync/kafka';
import { Counter, Gauge, Histogram, LATENCY_BUCKETS_SECONDS, type Registry } from '@paysync/observability';
import type { Admin } from 'kafkajs';

export const ORDER_STATUSES = ['pending', 'paid', 'failed', 'cancelled', 'refunded', 'expired'] as const;

/** How long the per-status order counts are reused between scrapes. */
export const ORDER_COUNT_TTL_MS = 30_000;

export type LedgerMetrics = ReturnType<typeof createLedgerMetrics>;

/**
 * The ledger's metrics. Order-state gauges and consumer lag are computed when Prometheus scrapes,
 * from MySQL and the broker, so they describe the system and not this process's memory.
 */
export function createLedgerMetrics(
  registry: Registry,
  sources: { pool: Pool; admin?: Admin; groupId: string; topic: string; dlqTopic?: string },
) {
  const observations = new Counter({
    name: 'paysync_ledger_observations_total',
    help: 'Observations consumed, by source and outcome (settled, late, refunded, transitioned, duplicate, unchanged, mismatch, unverified, unknown_order, malformed, failed, blocked — left for later, its order locked elsewhere).',
    labelNames: ['source', 'outcome'] as const,
    registers: [registry],
  });
  const settleLatency = new Histogram({
    name: 'paysync_ledger_settle_latency_seconds',
    help: 'Time from WeChat observation to the ledger commit, for observations that changed an order.',
    labelNames: ['source'] as const,
    buckets: [...LATENCY_BUCKETS_SECONDS, 30, 60, 300, 900],
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'paysync_ledger_batch_size',
    help: 'Observations applied per database transaction.',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: 'paysync_ledger_dead_letters_total',
    help: 'Observations sent to the DLQ, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const alertsPublished = new Counter({
    name: 'paysync_ledger_alerts_published_total',
    help: 'Domain alerts published, by type.',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const publishFailures = new Counter({
    name: 'paysync_ledger_publish_failures_total',
    help: 'Failed attempts of the outbox relay to send order-settled events, alerts or dead letters (they stay in the outbox and are sent again).',
    registers: [registry],
  });

  // A gauge read from MySQL or the broker at scrape time must not take /metrics down with it: one
  // failing source would answer 500 and every paysync_ledger_* series — counters included — would
  // vanish, resolving the very alerts that should fire. A failed read keeps the gauge's last values
  // (an alert that was firing keeps firing) and says so in paysync_ledger_metrics_source_up.
  type Read = { source: 'mysql' | 'kafka'; ok: boolean };
  const reads = new Set<Promise<Read>>();
  const guarded = (source: Read['source'], read: (gauge: Gauge) => Promise<void>) =>
    async function (this: Gauge): Promise<void> {
      const done = read(this).then(
        (): Read => ({ source, ok: true }),
        (): Read => ({ source, ok: false }),
      );
      reads.add(done);
      try {
        await done;
      } finally {
        reads.delete(done);
      }
    };

  // Counting every order by status scans the whole table: at most once per ORDER_COUNT_TTL_MS per
  // replica, however often Prometheus scrapes.
  let orderCounts: { at: number; counts: Map<string, number>; partlyRefunded: number } | undefined;
  const readOrderCounts = async () => {
    if (!orderCounts || Date.now() - orderCounts.at >= ORDER_COUNT_TTL_MS) {
      const [rows] = await sources.pool.query<
        (RowDataPacket & { status: string; n: number; partial: number })[]
      >(
        `SELECT status, COUNT(*) AS n, COALESCE(SUM(refunded_amount < amount_total), 0) AS partial
           FROM payment_orders GROUP BY status`,
      );
      orderCounts = {
        at: Date.now(),
        counts: new Map(rows.map((r) => [r.status, Number(r.n)])),
        partlyRefunded: Number(rows.find((r) => r.status === 'refunded')?.partial ?? 0),
      };
    }
    return orderCounts;
  };
  new Gauge({
    name: 'paysync_ledger_orders',
    help: `Payment orders by status, read from MySQL at scrape time (at most every ${ORDER_COUNT_TTL_MS / 1000} s).`,
    labelNames: ['status'] as const,
    registers: [registry],
    collect: guarded('mysql', async (gauge) => {
      const { counts } = await readOrderCounts();
      for (const status of ORDER_STATUSES) gauge.set({ status }, counts.get(status) ?? 0);
    }),
  });
  new Gauge({
    name: 'paysync_ledger_partly_refunded_orders',
    help: 'Orders in status refunded whose refunds add up to less than their total (points reversed in proportion, the rest kept), read with paysync_ledger_orders.',
    registers: [registry],
    collect: guarded('mysql', async (gauge) => {
      gauge.set((await readOrderCounts()).partlyRefunded);
    }),
  });
  new Gauge({
    name: 'paysync_ledger_outbox_messages',
    help: 'Messages committed by the ledger and not yet sent to Kafka (the outbox), read from MySQL at scrape time.',
    registers: [registry],
    collect: guarded('mysql', async (gauge) => {
      const [[row]] = await sources.pool.query<(RowDataPacket & { n: number })[]>(
        'SELECT COUNT(*) AS n FROM ledger_outbox',
      );
      gauge.set(Number(row?.n ?? 0));
    }),
  });
  new Gauge({
    name: 'paysync_ledger_oldest_pending_order_age_seconds',
    help: 'Age of the oldest pending order, read from MySQL at scrape time (0 when none is pending).',
    registers: [registry],
    collect: guarded('mysql', async (gauge) => {
      const [[row]] = await sources.pool.query<(RowDataPacket & { oldest: Date | null })[]>(
        "SELECT MIN(created_at) AS oldest FROM payment_orders WHERE status = 'pending'",
      );
      gauge.set(row?.oldest ? Math.max(0, (Date.now() - row.oldest.getTime()) / 1000) : 0);
    }),
  });
  new Gauge({
    name: 'paysync_ledger_oldest_pending_past_expiry_seconds',
    help: 'How long the pending order longest past its time_expire has been so, read from MySQL at scrape time (0 when none).',
    registers: [registry],
    collect: guarded('mysql', async (gauge) => {
      const [[row]] = await sources.pool.query<(RowDataPacket & { overdue: number | null })[]>(
        `SELECT TIMESTAMPDIFF(MICROSECOND, MIN(time_expire), NOW(3)) / 1e6 AS overdue
           FROM payment_orders WHERE status = 'pending' AND time_expire < NOW(3)`,
      );
      gauge.set(Math.max(0, Number(row?.overdue ?? 0)));
    }),
  });
  new Gauge({
    name: 'paysync_ledger_pending_past_expiry_orders',
    help: 'Pending orders past their time_expire (out of step until the reconciler closes or settles them), read from MySQL at scrape time.',
    registers: [registry],
    collect: guarded('mysql', async (gauge) => {
      const [[row]] = await sources.pool.query<(RowDataPacket & { n: number })[]>(
        "SELECT COUNT(*) AS n FROM payment_orders WHERE status = 'pending' AND time_expire < NOW(3)",
      );
      gauge.set(Number(row?.n ?? 0));
    }),
  });
  // Refunds under way are few (the status index serves both reads): read on every scrape.
  new Gauge({
    name: 'paysync_refunds_under_way',
    help: 'Refunds accepted here and not final at WeChat yet (processing, abnormal), and the points they hold, read from MySQL at scrape time.',
    labelNames: ['status', 'measure'] as const,
    registers: [registry],
    collect: guarded('mysql', async (gauge) => {
      const [rows] = await sources.pool.query<
        (RowDataPacket & { status: string; n: number; held: number })[]
      >(
        `SELECT status, COUNT(*) AS n, COALESCE(SUM(CASE WHEN hold_released_at IS NULL THEN hold_points END), 0) AS held
           FROM payment_refunds WHERE status IN ('processing', 'abnormal') GROUP BY status`,
      );
      for (const status of ['processing', 'abnormal']) {
        const row = rows.find((r) => r.status === status);
        gauge.set({ status, measure: 'refunds' }, Number(row?.n ?? 0));
        gauge.set({ status, measure: 'held_points' }, Number(row?.held ?? 0));
      }
    }),
  });
  new Gauge({
    name: 'paysync_refund_oldest_processing_age_seconds',
    help: 'Age of the oldest refund still processing (0 when none): a refund WeChat never finishes, or one paysync cannot send.',
    registers: [registry],
    collect: guarded('mysql', async (gauge) => {
      const [[row]] = await sources.pool.query<(RowDataPacket & { oldest: Date | null })[]>(
        "SELECT MIN(created_at) AS oldest FROM payment_refunds WHERE status = 'processing'",
      );
      gauge.set(row?.oldest ? Math.max(0, (Date.now() - row.oldest.getTime()) / 1000) : 0);
    }),
  });
  new Gauge({
    name: 'paysync_ledger_open_reviews',
    help: 'Payments a person must decide about and nobody has yet (payctl review list), by kind: mismatch (never settled) or late_payment (settled after the order ended: keep or refund), read from MySQL at scrape time.',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect: guarded('mysql', async (gauge) => {
      for (const [kind, n] of await openReviewCounts(sources.pool)) gauge.set({ kind }, n);
    }),
  });
  if (sources.admin && sources.dlqTopic) {
    const { admin, dlqTopic } = sources;
    new Gauge({
      name: 'paysync_ledger_dlq_messages',
      help: `Dead letters not yet handled by operators (DLQ end offset minus the ${DLQ_HANDLED_GROUP} group's offset), per partition, read from the broker at scrape time.`,
      labelNames: ['partition'] as const,
      registers: [registry],
      collect: guarded('kafka', async (gauge) => {
        for (const p of await fetchDlqPartitions(admin, dlqTopic)) {
          gauge.set({ partition: String(p.partition) }, unhandledCount(p));
        }
      }),
    });
  }
  if (sources.admin) {
    const admin = sources.admin;
    new Gauge({
      name: 'paysync_ledger_consumer_lag',
      help: 'Messages not yet consumed by the ledger, per partition, read from the broker at scrape time.',
      labelNames: ['partition'] as const,
      registers: [registry],
      collect: guarded('kafka', async (gauge) => {
        const [ends, committed] = await Promise.all([
          admin.fetchTopicOffsets(sources.topic),
          admin.fetchOffsets({ groupId: sources.groupId, topics: [sources.topic] }),
        ]);
        const done = new Map(
          (committed[0]?.partitions ?? []).map((p) => [
            p.partition,
            BigInt(p.offset === '-1' ? '0' : p.offset),
          ]),
        );
        for (const end of ends) {
          const lag = BigInt(end.high) - (done.get(end.partition) ?? BigInt(end.low));
          gauge.set({ partition: String(end.partition) }, Number(lag > 0n ? lag : 0n));
        }
      }),
    });
  }
  // Registered last: Prometheus' registry starts every collect() in registration order, so by the
  // time this one runs, the scrape's reads above are under way and it reports how they ended.
  new Gauge({
    name: 'paysync_ledger_metrics_source_up',
    help: 'Whether this scrape could read each source of the gauges above (mysql, kafka): 1, or 0 when a read failed and its gauge was left out.',
    labelNames: ['source'] as const,
    registers: [registry],
    async collect() {
      const results = await Promise.all([...reads]);
      const up = new Map<Read['source'], number>();
      for (const r of results) up.set(r.source, Math.min(up.get(r.source) ?? 1, r.ok ? 1 : 0));
      for (const [source, value] of up) this.set({ source }, value);
    },
  });
  return { observations, settleLatency, batchSize, deadLetters, alertsPublished, publishFailures };
}
