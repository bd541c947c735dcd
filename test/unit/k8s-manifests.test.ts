import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { alertingEnv, parseRoutes } from '@paysync/alerting';
import { gatewayEnv } from '@paysync/callback-gateway';
import { ledgerEnv } from '@paysync/points-ledger';
import * as reconciler from '@paysync/reconciler';
import { parse } from 'yaml';
import { expectedFiles } from '../../scripts/k8s/render.ts';
import { byKind, CHART_DIR, helmTemplate, type Manifest, parseManifests, render } from '../k8s/chart.ts';

// The chart's files and the services agree: the env var names the chart sets and accepts are the
// services' own, k8s/ is what the chart renders, and the monitoring files are optional.

const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8'));
const serviceEnv: Record<string, Set<string>> = {
  'callback-gateway': new Set(Object.keys(gatewayEnv.shape)),
  'points-ledger': new Set(Object.keys(ledgerEnv.shape)),
  alerting: new Set(Object.keys(alertingEnv.shape)),
  reconciler: new Set([
    ...Object.keys(reconciler.reconcilerEnv.shape),
    // The operator's own settings, until @paysync/reconciler exports operatorEnv.
    ...Object.keys(
      ((reconciler as Record<string, unknown>).operatorEnv as { shape?: object } | undefined)?.shape ?? {
        POD_NAME: 1,
        POD_NAMESPACE: 1,
        RECONCILER_OPERATOR_LEASE: 1,
        RECONCILER_OPERATOR_LEASE_DURATION: 1,
        RECONCILER_OPERATOR_RENEW_DEADLINE: 1,
        RECONCILER_OPERATOR_RETRY_PERIOD: 1,
        RECONCILER_OPERATOR_LEDGER_WAIT: 1,
        RECONCILER_OPERATOR_RESYNC: 1,
        METRICS_HOST: 1,
        METRICS_PORT: 1,
      },
    ),
  ]),
};
/** Read by Node itself, not by a service (the bill CronJob's heap flags). */
const NODE_ENV = new Set(['NODE_OPTIONS']);
/** Which service reads a container's environment. */
const SERVICE_OF: Record<string, string> = {
  'callback-gateway': 'callback-gateway',
  'points-ledger': 'points-ledger',
  reconciler: 'reconciler',
  operator: 'reconciler',
  alerting: 'alerting',
};

const tmp = mkdtempSync(join(tmpdir(), 'paysync-chart-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('one name per concept', () => {
  const manifests = render({ values: [join(CHART_DIR, 'ci', 'production-values.yaml')] });
  const config = byKind(manifests, 'ConfigMap').find((c) => c.metadata.name.endsWith('-config')) as Manifest;

  it('sets only environment variables the service itself reads', () => {
    for (const w of manifests.filter((m) => m.kind === 'Deployment' || m.kind === 'CronJob')) {
      const pod = w.kind === 'CronJob' ? w.spec.jobTemplate.spec.template.spec : w.spec.template.spec;
      for (const c of pod.containers) {
        const service = SERVICE_OF[c.name];
        expect([c.name, service]).toEqual([c.name, expect.any(String)]);
        const known = serviceEnv[service as string] as Set<string>;
        const names = [...c.env.map((e: { name: string }) => e.name)];
        const unknown = names.filter((n) => !known.has(n) && !NODE_ENV.has(n));
        expect([w.metadata.name, unknown]).toEqual([w.metadata.name, []]);
      }
    }
  });

  it('shares only settings every service of that kind reads, under the same names', () => {
    const everyone = new Set([...serviceEnv['callback-gateway']!, ...serviceEnv.reconciler!]);
    for (const key of Object.keys(config.data)) expect(everyone).toContain(key);
    for (const key of Object.keys(schema.properties.config.properties)) expect(everyone).toContain(key);
  });

  it.each([
    ['gateway', 'callback-gateway'],
    ['ledger', 'points-ledger'],
    ['reconciler', 'reconciler'],
    ['alerting', 'alerting'],
  ])('accepts in %s.env only names the %s service reads', (component, service) => {
    const accepted = Object.keys(schema.properties[component].properties.env.properties);
    expect(accepted.length).toBeGreaterThan(2);
    expect(accepted.filter((n) => !(serviceEnv[service] as Set<string>).has(n))).toEqual([]);
  });
});

describe('alerting routes', () => {
  it.each([
    ['default values', []],
    ['production-values.yaml', [join(CHART_DIR, 'ci', 'production-values.yaml')]],
  ])('renders a routes file the alerting service accepts (%s)', (_name, values) => {
    const manifests = render({ values });
    const routes = byKind(manifests, 'ConfigMap').find((c) =>
      c.metadata.name.endsWith('-alerting'),
    ) as Manifest;
    // The mounted channel secrets, as the alerting service would read them.
    const files: Record<string, string> = {
      '/var/run/secrets/paysync/alerting/dingtalk-url': 'https://oapi.dingtalk.com/robot/send?access_token=t',
      '/var/run/secrets/paysync/alerting/dingtalk-secret': 'SECxyz',
      '/var/run/secrets/paysync/alerting/smtp-url': 'smtps://u:p@smtp.example.cn:465',
    };
    const parsed = parseRoutes(routes.data['routes.yaml'], 'routes.yaml', {
      env: {},
      readFile: (path) => {
        const content = files[path];
        if (content === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
        return content;
      },
    });
    expect(Object.keys(parsed.channels).length).toBeGreaterThan(0);
  });
});

describe('k8s/', () => {
  it('holds the CRD and the plain manifests exactly as the chart renders them', () => {
    const stale = [...expectedFiles()]
      .filter(([path, content]) => !existsSync(path) || readFileSync(path, 'utf8') !== content)
      .map(([path]) => `${path} is out of date: run node scripts/k8s/render.ts`);
    expect(stale).toEqual([]);
  });

  it('has example PaymentRepairs that the CRD schema accepts', () => {
    const crd = parse(readFileSync(join(CHART_DIR, 'crds', 'paymentrepairs.paysync.io.yaml'), 'utf8'));
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
    for (const name of [
      'paymentrepair.yaml',
      'paymentrepair-dry-run.yaml',
      'paymentrepair-close.yaml',
      'paymentrepair-replay.yaml',
    ]) {
      const example = parse(readFileSync(join(CHART_DIR, '..', '..', 'k8s', 'examples', name), 'utf8'));
      expect(example.kind).toBe('PaymentRepair');
      for (const field of spec.required)
        expect([name, field, field in example.spec]).toEqual([name, field, true]);
      for (const field of Object.keys(example.spec)) expect(Object.keys(spec.properties)).toContain(field);
    }
  });
});

describe('monitoring files', () => {
  function chartCopy(name: string, files: Record<string, string>): string {
    const dir = join(tmp, name);
    cpSync(CHART_DIR, dir, { recursive: true, filter: (src) => !src.includes(`${CHART_DIR}/files`) });
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), content);
    }
    return dir;
  }
  function renderChart(dir: string): Manifest[] {
    const r = helmTemplate({ chart: dir });
    expect(r.stderr).toBe('');
    return parseManifests(r.stdout);
  }

  it('renders without a PrometheusRule or dashboard when the files are absent', () => {
    const manifests = renderChart(chartCopy('bare', {}));
    expect(byKind(manifests, 'PrometheusRule')).toEqual([]);
    expect(byKind(manifests, 'ConfigMap').map((c) => c.metadata.name)).toEqual([
      'paysync-alerting',
      'paysync-config',
    ]);
  });

  it('turns the rule files into one PrometheusRule and the dashboards into a labelled ConfigMap', () => {
    const rules = `groups:\n  - name: paysync-test\n    rules:\n      - alert: PaysyncTest\n        expr: vector(1)\n        labels:\n          severity: warning\n`;
    const more = `groups:\n  - name: paysync-more\n    rules:\n      - record: paysync:test:sum\n        expr: sum(up)\n`;
    const dashboard = '{"title":"paysync","panels":[]}\n';
    const manifests = renderChart(
      chartCopy('with-files', {
        'files/monitoring/rules/a.yaml': rules,
        'files/monitoring/rules/b.yaml': more,
        'files/monitoring/dashboards/paysync.json': dashboard,
      }),
    );
    const rule = byKind(manifests, 'PrometheusRule');
    expect(rule.length).toBe(1);
    expect(rule[0]?.metadata.labels.release).toBe('kube-prometheus-stack');
    // biome-ignore lint/suspicious/noExplicitAny: groups are read by path
    expect(rule[0]?.spec.groups.map((g: any) => g.name)).toEqual(['paysync-test', 'paysync-more']);
    const board = byKind(manifests, 'ConfigMap').find(
      (c) => c.metadata.name === 'paysync-dashboards',
    ) as Manifest;
    expect(board.metadata.labels).toMatchObject({ grafana_dashboard: '1', release: 'kube-prometheus-stack' });
    expect(JSON.parse(board.data['paysync.json'])).toEqual({ title: 'paysync', panels: [] });
  });

  it('fails the render on a rule file that is not YAML', () => {
    const dir = chartCopy('broken', { 'files/monitoring/rules/bad.yaml': 'groups: [\n' });
    const r = helmTemplate({ chart: dir });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('bad.yaml');
  });
});
