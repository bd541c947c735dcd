import { DLQ_HANDLED_GROUP } from '@paysync/contracts';
import type { Pool, RowDataPacket } from '@paysync/db';
import { fetchDlqPartitions, unhandledCount } from '@paysync/kafka';
import { Counter, Gauge, Histogram, LATENCY_BUCKETS_SECONDS, type Registry } from '@paysync/observability';
import type { Admin } from 'kafkajs';

export const ORDER_STATUSES = ['pending', 'paid', 'failed', 'cancelled', 'refunded', 'expired'] as const;

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
    help: 'Failed publications of order-settled events, alerts or dead letters (the batch is consumed again).',
    registers: [registry],
  });

  new Gauge({
    name: 'paysync_ledger_orders',
    help: 'Payment orders by status, read from MySQL at scrape time.',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const [rows] = await sources.pool.query<(RowDataPacket & { status: string; n: number })[]>(
        'SELECT status, COUNT(*) AS n FROM payment_orders GROUP BY status',
      );
      const counts = new Map(rows.map((r) => [r.status, Number(r.n)]));
      for (const status of ORDER_STATUSES) this.set({ status }, counts.get(status) ?? 0);
    },
  });
  new Gauge({
    name: 'paysync_ledger_oldest_pending_order_age_seconds',
    help: 'Age of the oldest pending order, read from MySQL at scrape time (0 when none is pending).',
    registers: [registry],
    async collect() {
      const [[row]] = await sources.pool.query<(RowDataPacket & { oldest: Date | null })[]>(
        "SELECT MIN(created_at) AS oldest FROM payment_orders WHERE status = 'pending'",
      );
      this.set(row?.oldest ? Math.max(0, (Date.now() - row.oldest.getTime()) / 1000) : 0);
    },
  });
  new Gauge({
    name: 'paysync_ledger_oldest_pending_past_expiry_seconds',
    help: 'How long the pending order longest past its time_expire has been so, read from MySQL at scrape time (0 when none).',
    registers: [registry],
    async collect() {
      const [[row]] = await sources.pool.query<(RowDataPacket & { overdue: number | null })[]>(
        `SELECT TIMESTAMPDIFF(MICROSECOND, MIN(time_expire), NOW(3)) / 1e6 AS overdue
           FROM payment_orders WHERE status = 'pending' AND time_expire < NOW(3)`,
      );
      this.set(Math.max(0, Number(row?.overdue ?? 0)));
    },
  });
  if (sources.admin && sources.dlqTopic) {
    const { admin, dlqTopic } = sources;
    new Gauge({
      name: 'paysync_ledger_dlq_messages',
      help: `Dead letters not yet handled by operators (DLQ end offset minus the ${DLQ_HANDLED_GROUP} group's offset), per partition, read from the broker at scrape time.`,
      labelNames: ['partition'] as const,
      registers: [registry],
      async collect() {
        for (const p of await fetchDlqPartitions(admin, dlqTopic)) {
          this.set({ partition: String(p.partition) }, unhandledCount(p));
        }
      },
    });
  }
  if (sources.admin) {
    const admin = sources.admin;
    new Gauge({
      name: 'paysync_ledger_consumer_lag',
      help: 'Messages not yet consumed by the ledger, per partition, read from the broker at scrape time.',
      labelNames: ['partition'] as const,
      registers: [registry],
      async collect() {
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
          this.set({ partition: String(end.partition) }, Number(lag > 0n ? lag : 0n));
        }
      },
    });
  }
  return { observations, settleLatency, batchSize, deadLetters, alertsPublished, publishFailures };
}
