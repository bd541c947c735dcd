import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { KNOWN_ALERTNAMES } from '../../src/alertmanager.ts';
import { RULE_TESTS_DIR, RULES_FILE, RUNBOOKS_DIR, runTool } from '../monitoring/files.ts';
import { promqlRefs } from '../monitoring/promql.ts';
import { EXTERNAL_METRICS, exportedMetrics } from '../monitoring/registries.ts';

type Rule = {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};
const groups = (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { name: string; rules: Rule[] }[] })
  .groups;
const rules = groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert);
const testFiles = readdirSync(RULE_TESTS_DIR).filter((f) => f.endsWith('.test.yaml'));

/** Metrics a rule may name before a service exports them (none: every rule's metrics exist). */
const AWAITED = new Set<string>();

describe('Prometheus rules', () => {
  it('are the alertnames the received-alerts metric knows (every other name is counted as other)', () => {
    expect([...KNOWN_ALERTNAMES].sort()).toEqual(alerts.map((a) => a.alert as string).sort());
  });

  it('pass promtool check rules', async () => {
    const { code, output } = await runTool('promtool', ['check', 'rules', RULES_FILE]);
    expect(output).toContain('SUCCESS');
    expect(code).toBe(0);
  });

  it('pass their promtool unit tests', async () => {
    const results = await Promise.all(
      testFiles.map((f) =>
        runTool('promtool', ['test', 'rules', join(RULE_TESTS_DIR, f)], { timeoutMs: 120_000 }),
      ),
    );
    for (const r of results) {
      expect(r.output).not.toContain('FAILED');
      expect(r.code).toBe(0);
    }
  }, 120_000);

  it('give every alert a case where it fires and one where it stays quiet', () => {
    const fires = new Set<string>();
    const quiet = new Set<string>();
    for (const f of testFiles) {
      const doc = parse(readFileSync(join(RULE_TESTS_DIR, f), 'utf8')) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
      };
      for (const t of doc.tests) {
        for (const c of t.alert_rule_test ?? []) (c.exp_alerts.length > 0 ? fires : quiet).add(c.alertname);
      }
    }
    for (const a of alerts) {
      expect({ alert: a.alert, fires: fires.has(a.alert!) }).toEqual({ alert: a.alert, fires: true });
      // The watchdog fires always, by design: a dead man's switch pages when it stops.
      if (a.alert === 'PaysyncWatchdog') continue;
      expect({ alert: a.alert, quiet: quiet.has(a.alert!) }).toEqual({ alert: a.alert, quiet: true });
    }
  });

  it('give every alert a severity, summary, description (English and Chinese) and an existing runbook', () => {
    const runbooks = new Set(readdirSync(RUNBOOKS_DIR));
    for (const a of alerts) {
      expect(['critical', 'warning', 'info']).toContain(a.labels?.severity);
      for (const key of ['summary', 'summary_zh', 'description', 'description_zh', 'runbook_url']) {
        expect({ alert: a.alert, key, present: Boolean(a.annotations?.[key]) }).toEqual({
          alert: a.alert,
          key,
          present: true,
        });
      }
      const url = a.annotations?.runbook_url ?? '';
      const file = /\/docs\/runbooks\/([a-z0-9-]+\.md)$/.exec(url)?.[1];
      expect({ alert: a.alert, runbook: file !== undefined && runbooks.has(file) }).toEqual({
        alert: a.alert,
        runbook: true,
      });
    }
  });

  it('refer only to metrics paysync exports, recording rules, or the metrics listed as awaited', async () => {
    const exported = await exportedMetrics();
    const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
    const unknown: string[] = [];
    for (const r of rules) {
      for (const s of promqlRefs(r.expr).selectors) {
        if (recorded.has(s.metric) || AWAITED.has(s.metric)) continue;
        const external = EXTERNAL_METRICS.get(s.metric);
        const m = exported.get(s.metric) ?? (external ? { labels: external } : undefined);
        if (!m) unknown.push(`${r.alert ?? r.record}: ${s.metric}`);
        else
          for (const l of s.labels)
            if (!m.labels.has(l)) unknown.push(`${r.alert ?? r.record}: ${s.metric}{${l}}`);
      }
    }
    expect(unknown).toEqual([]);
  });
});

describe('runbooks', () => {
  it('exist for every domain alert type the alerting service links', async () => {
    const { DOMAIN_RUNBOOKS } = await import('../../src/index.ts');
    const runbooks = new Set(readdirSync(RUNBOOKS_DIR));
    for (const [type, name] of Object.entries(DOMAIN_RUNBOOKS)) {
      expect({ type, exists: runbooks.has(`${name}.md`) }).toEqual({ type, exists: true });
    }
  });
});
