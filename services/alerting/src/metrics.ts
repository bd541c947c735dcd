import type { Pool } from '@paysync/db';
import { Counter, Gauge, Histogram, LATENCY_BUCKETS_SECONDS, type Registry } from '@paysync/observability';
import { pendingStats } from './store.ts';

export type AlertingMetrics = ReturnType<typeof createAlertingMetrics>;

/** Numeric value of a breaker state on `paysync_alerting_breaker_state`. */
export const BREAKER_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * The alerting service's metrics. Label values are bounded: source (domain, alertmanager), the
 * alert type (the contract's enum or a rule's alertname), the configured channel names, outcome
 * enums. Queue gauges are read from MySQL at scrape time.
 */
export function createAlertingMetrics(
  registry: Registry,
  sources: { pool: Pool; channels: readonly string[] },
) {
  const registers = [registry];
  const received = new Counter({
    name: 'paysync_alerting_alerts_received_total',
    help: 'Alerts received, by source (domain, alertmanager), type (domain alert type or alertname) and status.',
    labelNames: ['source', 'type', 'status'] as const,
    registers,
  });
  const invalid = new Counter({
    name: 'paysync_alerting_invalid_total',
    help: 'Kafka messages or Alertmanager payloads refused as invalid, by source.',
    labelNames: ['source'] as const,
    registers,
  });
  const stale = new Counter({
    name: 'paysync_alerting_stale_alerts_total',
    help: 'Domain alerts older than the delivery max age when consumed (not delivered).',
    registers,
  });
  const unrouted = new Counter({
    name: 'paysync_alerting_unrouted_total',
    help: 'Firing alerts no route sent to any channel, by source.',
    labelNames: ['source'] as const,
    registers,
  });
  const claims = new Counter({
    name: 'paysync_alerting_claims_total',
    help: 'Per-channel claims of alerts, by result: queued, rearmed (cooldown over), duplicate (deduplicated), suppressed.',
    labelNames: ['channel', 'result'] as const,
    registers,
  });
  const deliveries = new Counter({
    name: 'paysync_alerting_deliveries_total',
    help: 'Delivery attempts per channel, by outcome: sent, retry (failed, will be tried again), failed (given up).',
    labelNames: ['channel', 'outcome'] as const,
    registers,
  });
  const messages = new Counter({
    name: 'paysync_alerting_messages_total',
    help: 'Messages sent per channel, by result (sent, error, rejected by the open breaker); one message may carry several alerts.',
    labelNames: ['channel', 'result'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'paysync_alerting_delivery_duration_seconds',
    help: 'Time one message took to be accepted (or refused) by the channel.',
    labelNames: ['channel'] as const,
    buckets: [...LATENCY_BUCKETS_SECONDS, 30],
    registers,
  });
  const breakerState = new Gauge({
    name: 'paysync_alerting_breaker_state',
    help: 'Circuit breaker of each channel: 0 closed, 1 half-open, 2 open.',
    labelNames: ['channel'] as const,
    registers,
  });
  for (const channel of sources.channels) {
    breakerState.set({ channel }, 0);
    for (const outcome of ['sent', 'retry', 'failed']) deliveries.inc({ channel, outcome }, 0);
  }
  new Gauge({
    name: 'paysync_alerting_pending_deliveries',
    help: 'Deliveries queued per channel (waiting, or backing off after failures), read from MySQL at scrape time.',
    labelNames: ['channel'] as const,
    registers,
    async collect() {
      this.reset();
      const stats = await pendingStats(sources.pool).catch(() => undefined);
      if (!stats) return;
      const byChannel = new Map(stats.map((s) => [s.channel, s]));
      for (const channel of sources.channels) this.set({ channel }, byChannel.get(channel)?.pending ?? 0);
    },
  });
  new Gauge({
    name: 'paysync_alerting_oldest_pending_delivery_age_seconds',
    help: 'Age of the oldest queued delivery per channel (0 when none), read from MySQL at scrape time.',
    labelNames: ['channel'] as const,
    registers,
    async collect() {
      this.reset();
      const stats = await pendingStats(sources.pool).catch(() => undefined);
      if (!stats) return;
      const byChannel = new Map(stats.map((s) => [s.channel, s]));
      for (const channel of sources.channels)
        this.set({ channel }, byChannel.get(channel)?.oldestSeconds ?? 0);
    },
  });
  return { received, invalid, stale, unrouted, claims, deliveries, messages, duration, breakerState };
}
