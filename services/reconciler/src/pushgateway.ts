import type { Registry } from '@paysync/observability';
import { Pushgateway } from 'prom-client';
import { z } from 'zod';

const groupSchema = z.looseObject({ labels: z.record(z.string(), z.string()) });
const familySchema = z.looseObject({
  metrics: z.array(
    z.looseObject({ labels: z.record(z.string(), z.string()).optional(), value: z.string().optional() }),
  ),
});
const responseSchema = z.looseObject({ data: z.array(z.record(z.string(), z.unknown())) });

export type PreviousValues = Map<string, { labels: Record<string, string>; value: number }[]>;

/**
 * The values this job/group last pushed (Pushgateway's JSON API), for the given metric names.
 * Labels the Pushgateway or the registry add (job, instance, the grouping keys, default labels) are
 * removed, so what remains matches the metric's own labels.
 */
export async function previousValues(
  url: string,
  job: string,
  groupings: Record<string, string>,
  names: readonly string[],
  opts: { timeoutMs?: number; dropLabels?: readonly string[] } = {},
): Promise<PreviousValues> {
  const res = await fetch(new URL('/api/v1/metrics', url), {
    signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
  });
  if (!res.ok) throw new Error(`Pushgateway answered ${res.status} to GET /api/v1/metrics`);
  const body = responseSchema.parse(await res.json());
  const drop = new Set(['job', 'instance', ...Object.keys(groupings), ...(opts.dropLabels ?? [])]);
  const out: PreviousValues = new Map();
  for (const raw of body.data) {
    const group = groupSchema.safeParse(raw);
    if (!group.success) continue;
    const labels = group.data.labels;
    if (labels.job !== job || Object.entries(groupings).some(([k, v]) => labels[k] !== v)) continue;
    for (const name of names) {
      const family = familySchema.safeParse(raw[name]);
      if (!family.success) continue;
      out.set(
        name,
        family.data.metrics
          .map((m) => ({
            labels: Object.fromEntries(Object.entries(m.labels ?? {}).filter(([k]) => !drop.has(k))),
            value: Number(m.value),
          }))
          .filter((m) => Number.isFinite(m.value)),
      );
    }
  }
  return out;
}

type Settable = {
  inc?: (labels: Record<string, string>, value: number) => void;
  set?: (labels: Record<string, string>, value: number) => void;
};

/**
 * Pushes a batch run's registry (PUT: the group then holds exactly this run's metrics), carrying
 * forward what a per-run push would lose: counters continue from their last pushed value, so
 * `_total` series stay monotonic across runs and `increase()` works; gauges listed in `carryGauges`
 * keep their last value when this run did not set them (last success timestamp after a failed run).
 * If the previous values cannot be read, the run's own values are pushed (a counter reset).
 */
export async function pushRunMetrics(
  registry: Registry,
  opts: {
    url: string;
    job: string;
    groupings: Record<string, string>;
    cumulative: readonly string[];
    carryGauges: readonly { name: string; setThisRun: boolean }[];
    /** Labels the registry adds to every metric (its default labels). */
    defaultLabels?: readonly string[];
    timeoutMs?: number;
    /** Called after carrying, before the push, with the carried gauges that had a previous value. */
    beforePush?: (carriedGauges: ReadonlySet<string>) => void;
  },
): Promise<{ carried: boolean }> {
  let carried = true;
  const carriedGauges = new Set<string>();
  try {
    const names = [...opts.cumulative, ...opts.carryGauges.map((g) => g.name)];
    const previous = await previousValues(opts.url, opts.job, opts.groupings, names, {
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      dropLabels: opts.defaultLabels ?? [],
    });
    for (const name of opts.cumulative) {
      const metric = registry.getSingleMetric(name) as unknown as Settable | undefined;
      for (const p of previous.get(name) ?? []) metric?.inc?.(p.labels, p.value);
    }
    for (const g of opts.carryGauges) {
      if (g.setThisRun) continue;
      const metric = registry.getSingleMetric(g.name) as unknown as Settable | undefined;
      for (const p of previous.get(g.name) ?? []) {
        metric?.set?.(p.labels, p.value);
        carriedGauges.add(g.name);
      }
    }
  } catch {
    carried = false;
  }
  opts.beforePush?.(carriedGauges);
  const gateway = new Pushgateway(opts.url, { timeout: opts.timeoutMs ?? 5000 }, registry);
  await gateway.push({ jobName: opts.job, groupings: opts.groupings });
  return { carried };
}
