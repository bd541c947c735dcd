import { createGatewayMetrics } from '@paysync/callback-gateway';
import { createPool } from '@paysync/db';
import { Counter, createRegistry, Gauge, Histogram, type Registry, Summary } from '@paysync/observability';
import { createLedgerMetrics } from '@paysync/points-ledger';
import { BillMetrics, OperatorMetrics, SweepMetrics } from '@paysync/reconciler';
import { Kafka, logLevel } from 'kafkajs';
import { createAlertingMetrics } from '../../src/index.ts';

/** What a scrape of these registries can contain: sample names and, per name, its labels. */
export type ExportedMetrics = Map<string, { service: string; labels: Set<string> }>;

/**
 * Metrics of others the rules and the board rely on, with the labels they use: Prometheus's own
 * `up` (a target's labels), and ingress-nginx's request counter (the notify path as WeChat Pay sees it).
 */
export const EXTERNAL_METRICS = new Map<string, Set<string>>([
  ['up', new Set(['job', 'namespace', 'instance'])],
  [
    'nginx_ingress_controller_requests',
    new Set(['namespace', 'exported_namespace', 'ingress', 'path', 'status']),
  ],
]);

/** Labels every series gets from the registry defaults, the scrape or the Pushgateway group. */
export const TARGET_LABELS = ['paysync_service', 'namespace', 'job', 'instance', 'shard', 'mchid'];

function addRegistry(out: ExportedMetrics, service: string, registry: Registry): void {
  for (const metric of registry.getMetricsAsArray()) {
    const m = metric as unknown as { name: string; labelNames?: string[] };
    const labels = new Set([...(m.labelNames ?? []), ...TARGET_LABELS]);
    const names =
      metric instanceof Histogram
        ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`]
        : metric instanceof Summary
          ? [m.name, `${m.name}_sum`, `${m.name}_count`]
          : metric instanceof Counter || metric instanceof Gauge
            ? [m.name]
            : [m.name];
    for (const name of names) {
      out.set(name, { service, labels: name.endsWith('_bucket') ? new Set([...labels, 'le']) : labels });
    }
  }
}

/**
 * The metric families paysync's services register, collected in-process from the same code that
 * serves their /metrics (the ledger's registry is built with a pool it never queries here).
 */
export async function exportedMetrics(): Promise<ExportedMetrics> {
  const out: ExportedMetrics = new Map();
  const gateway = createRegistry('callback-gateway', { processMetrics: false });
  createGatewayMetrics(gateway);
  addRegistry(out, 'callback-gateway', gateway);

  const pool = createPool({ url: 'mysql://never:queried@127.0.0.1:1/paysync', connectionLimit: 1 });
  try {
    const ledger = createRegistry('points-ledger', { processMetrics: false });
    // A real admin client that is never connected: it only makes the ledger register its lag gauge.
    const admin = new Kafka({
      clientId: 'metrics-inventory',
      brokers: ['127.0.0.1:1'],
      logLevel: logLevel.NOTHING,
    }).admin();
    createLedgerMetrics(ledger, { pool, admin, groupId: 'g', topic: 't', dlqTopic: 't.dlq' });
    addRegistry(out, 'points-ledger', ledger);
    const alerting = createRegistry('alerting', { processMetrics: false });
    createAlertingMetrics(alerting, { pool, channels: ['email'] });
    addRegistry(out, 'alerting', alerting);
  } finally {
    await pool.end();
  }
  addRegistry(out, 'reconciler', new SweepMetrics().registry);
  addRegistry(
    out,
    'reconciler-operator',
    new OperatorMetrics(createRegistry('reconciler-operator', { processMetrics: false })).registry,
  );
  addRegistry(out, 'reconciler', new BillMetrics().registry);
  return out;
}
