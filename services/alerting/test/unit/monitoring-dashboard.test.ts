import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { dashboardQueries, loadDashboard, runTool, withGrafanaVariables } from '../monitoring/files.ts';
import { promqlRefs } from '../monitoring/promql.ts';
import { EXTERNAL_METRICS, exportedMetrics } from '../monitoring/registries.ts';

const dashboard = loadDashboard();
/** Grafana's reference to the datasource variable (a literal, not a JavaScript template). */
const DATASOURCE = { type: 'prometheus', uid: ['$', '{datasource}'].join('') };
const queries = dashboardQueries(dashboard);
const dir = mkdtempSync(join(tmpdir(), 'paysync-dashboard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Grafana dashboard', () => {
  it('has a stable uid, a Prometheus datasource variable every panel uses, and unique panel ids', () => {
    expect(dashboard.uid).toBe('paysync-overview');
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect({ panel: p.title, ds: p.datasource }).toEqual({
        panel: p.title,
        ds: DATASOURCE,
      });
      expect(p.gridPos).toBeDefined();
      expect(p.targets?.length).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource).toEqual(DATASOURCE);
    }
  });

  it('shows what the seed asks for, plus latency, lag, breakers, DLQ and reconciler runs', () => {
    const titles = dashboard.panels.map((p) => p.title);
    for (const t of [
      'Pending orders',
      'Payment success rate (1h)',
      'Notification success rate (1h)',
      'Out of step now',
      'Unhandled dead letters',
      'Components up',
      'Order API',
      'Ledger metric sources',
      'Latency',
      'Ledger consumer lag',
      'Circuit breakers',
      'Dead letters',
      'Sweep runs',
    ]) {
      expect(titles).toContain(t);
    }
  });

  it('has queries Prometheus parses (promtool check rules on every query as a recording rule)', async () => {
    const file = join(dir, 'panels.rules.yaml');
    const rules = queries.map((q, i) => ({
      record: `dashboard:panel_${i}`,
      expr: withGrafanaVariables(q.expr),
    }));
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    const { code, output } = await runTool('promtool', ['check', 'rules', file]);
    expect(output).toContain(`SUCCESS: ${queries.length} rules found`);
    expect(code).toBe(0);
  });

  it('refers only to metrics and labels that paysync services export', async () => {
    const exported = await exportedMetrics();
    const problems: string[] = [];
    for (const q of queries) {
      const refs = promqlRefs(withGrafanaVariables(q.expr));
      const labelsHere = new Set<string>();
      for (const s of refs.selectors) {
        const external = EXTERNAL_METRICS.get(s.metric);
        const m = exported.get(s.metric) ?? (external ? { labels: external } : undefined);
        if (!m) {
          problems.push(`${q.panel} ${q.refId}: ${s.metric} is not exported`);
          continue;
        }
        for (const l of m.labels) labelsHere.add(l);
        for (const l of s.labels)
          if (!m.labels.has(l)) problems.push(`${q.panel} ${q.refId}: ${s.metric} has no label ${l}`);
      }
      for (const l of refs.groupingLabels)
        if (!labelsHere.has(l)) problems.push(`${q.panel} ${q.refId}: no metric has label ${l}`);
      expect(refs.selectors.length).toBeGreaterThan(0);
    }
    expect(problems).toEqual([]);
  });
});

describe('the PromQL reference finder the checks above rely on', () => {
  it('finds selectors, matched labels and grouping labels, and skips functions and keywords', () => {
    const refs = promqlRefs(
      'sum by (channel) (rate(a_total{x="1",y=~"b|c"}[5m])) / on() group_left(z) max without (le) (b_seconds_bucket) > 0.5 and c',
    );
    expect(refs.selectors).toEqual([
      { metric: 'a_total', labels: ['x', 'y'] },
      { metric: 'b_seconds_bucket', labels: [] },
      { metric: 'c', labels: [] },
    ]);
    expect(refs.groupingLabels).toEqual(['channel', 'z', 'le']);
  });
});
