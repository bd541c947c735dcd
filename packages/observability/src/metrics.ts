import { collectDefaultMetrics, Registry } from 'prom-client';

export type { Registry } from 'prom-client';
export { Counter, Gauge, Histogram, Summary } from 'prom-client';

/**
 * The label every metric of a paysync registry carries: which service exported it. Not `service`,
 * which the Prometheus Operator sets on every scraped series (the Kubernetes Service's name): a
 * clash would rename ours to exported_service.
 */
export const PAYSYNC_SERVICE_LABEL = 'paysync_service';

/**
 * A Prometheus registry for one service, with Node.js process metrics and a `paysync_service` label.
 * Every paysync metric is named `paysync_<component>_<what>_<unit>`; see `metricName`.
 */
export function createRegistry(service: string, opts: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ [PAYSYNC_SERVICE_LABEL]: service });
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

const SEGMENT = /^[a-z][a-z0-9_]*$/;

/** Builds `paysync_<component>_<what>` and refuses names that break Prometheus conventions. */
export function metricName(component: string, what: string): string {
  if (!SEGMENT.test(component) || !SEGMENT.test(what)) {
    throw new Error(`metric name segments must be snake_case: ${component}, ${what}`);
  }
  return `paysync_${component}_${what}`;
}

/** Latency buckets in seconds, from 1 ms to 10 s, for request and settlement histograms. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
