import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parse, stringify } from 'yaml';
import { PATHS } from '../../scripts/infra/config.ts';
import {
  byKind,
  CHART_DIR,
  type Json,
  type Manifest,
  one,
  podSpecOf,
  render,
  renderNotes,
  runTool,
} from '../k8s/chart.ts';

// What Prometheus gets from a release: every component scraped, the reconciler's runs included
// (a CronJob's pods are gone before any scrape, so they push to the release's Pushgateway).

function env(m: Manifest, name: string): string | undefined {
  return podSpecOf(m).containers[0].env?.find((e: Json) => e.name === name)?.value;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Does a NetworkPolicy peer list admit a pod with these labels (same namespace)? */
function admits(peers: Json[], labels: Record<string, string>): boolean {
  return peers.some(
    (p) => !p.namespaceSelector && p.podSelector && matches(p.podSelector.matchLabels, labels),
  );
}

describe('the reconciler’s metrics path on a default install', () => {
  const manifests = render();

  it('pushes every sweep to the release’s Pushgateway, which Prometheus scrapes with honorLabels', () => {
    const cron = one(manifests, 'CronJob', '-reconciler');
    const service = one(manifests, 'Service', '-pushgateway');
    const url = new URL(env(cron, 'RECONCILER_PUSHGATEWAY_URL') ?? 'http://unset');
    expect(url.hostname).toBe(`${service.metadata.name}.paysync.svc`);
    const port = service.spec.ports.find((p: Json) => String(p.port) === url.port);
    expect(port?.name).toBe('metrics');

    const deployment = one(manifests, 'Deployment', '-pushgateway');
    expect(matches(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
    const container = podSpecOf(deployment).containers[0];
    expect(container.ports).toContainEqual({
      name: 'metrics',
      containerPort: Number(url.port),
      protocol: 'TCP',
    });

    const monitor = one(manifests, 'ServiceMonitor', '-pushgateway');
    expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    expect(monitor.spec.namespaceSelector.matchNames).toEqual(['paysync']);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', honorLabels: true })]);
  });

  it('lets the sweep reach the Pushgateway and Prometheus scrape it through the NetworkPolicies', () => {
    const cronPod = one(manifests, 'CronJob', '-reconciler').spec.jobTemplate.spec.template.metadata.labels;
    const gatewayPod = one(manifests, 'Deployment', '-pushgateway').spec.template.metadata.labels;
    const reconcilerPolicy = one(manifests, 'NetworkPolicy', '-reconciler');
    const out = reconcilerPolicy.spec.egress.filter((r: Json) => admits(r.to, gatewayPod));
    expect(out.flatMap((r: Json) => r.ports.map((p: Json) => p.port))).toContain(9091);

    const pushgatewayPolicy = one(manifests, 'NetworkPolicy', '-pushgateway');
    expect(matches(pushgatewayPolicy.spec.podSelector.matchLabels, gatewayPod)).toBe(true);
    expect(pushgatewayPolicy.spec.ingress.some((r: Json) => admits(r.from, cronPod))).toBe(true);
    expect(
      pushgatewayPolicy.spec.ingress.some((r: Json) =>
        r.from.some(
          (p: Json) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring',
        ),
      ),
    ).toBe(true);
    expect(pushgatewayPolicy.spec.egress).toEqual([]);
  });

  it('uses an existing Pushgateway instead when given its URL, and refuses ambiguous settings', () => {
    const external = render({
      set: [
        'monitoring.pushgateway.enabled=false',
        'monitoring.pushgateway.url=http://pg.monitoring.svc:9091',
      ],
    });
    expect(env(one(external, 'CronJob', '-reconciler'), 'RECONCILER_PUSHGATEWAY_URL')).toBe(
      'http://pg.monitoring.svc:9091',
    );
    expect(byKind(external, 'Deployment').map((d) => d.metadata.name)).not.toContain('paysync-pushgateway');
    expect(() => render({ set: ['monitoring.pushgateway.url=http://pg:9091'] })).toThrow(/not both/);
    expect(() => render({ set: ['reconciler.env.RECONCILER_PUSHGATEWAY_URL=http://pg:9091'] })).toThrow(
      /monitoring\.pushgateway/,
    );
  });

  it('says in the install notes when the run metrics go nowhere', () => {
    expect(renderNotes()).not.toMatch(/WARNING: monitoring\.pushgateway/);
    expect(renderNotes({ set: ['monitoring.pushgateway.enabled=false'] })).toMatch(
      /WARNING: monitoring\.pushgateway is off.*\n.*missed notifications never alert/,
    );
  });
});

describe('clusters without the Prometheus Operator', () => {
  it('installs no ServiceMonitor or PrometheusRule and says what is not scraped', () => {
    const manifests = render({ apiVersions: [] });
    expect(byKind(manifests, 'ServiceMonitor')).toEqual([]);
    expect(byKind(manifests, 'PrometheusRule')).toEqual([]);
    const notes = renderNotes({ apiVersions: [] });
    expect(notes).toContain('no ServiceMonitor CRD');
    expect(notes).toContain('NOTHING of paysync is scraped');
    expect(notes).toContain('no PrometheusRule CRD');
    expect(renderNotes()).not.toContain('CRD');
  });
});

describe('two releases in one Prometheus', () => {
  it('render Pushgateways, URLs and ServiceMonitors that do not overlap', () => {
    const a = render({ release: 'paysync', namespace: 'pay-prod' });
    const b = render({ release: 'paysync', namespace: 'pay-staging' });
    const urls = [a, b].map((m) => env(one(m, 'CronJob', '-reconciler'), 'RECONCILER_PUSHGATEWAY_URL'));
    expect(urls[0]).not.toBe(urls[1]);
    const scraped = [a, b].map((m) =>
      byKind(m, 'ServiceMonitor').map((s) => s.spec.namespaceSelector.matchNames),
    );
    expect(scraped[0]?.flat()).toEqual(Array(6).fill('pay-prod'));
    expect(scraped[1]?.flat()).toEqual(Array(6).fill('pay-staging'));
  });
});

describe('the alert rules a release installs', () => {
  const rulesFile = parse(
    readFileSync(join(CHART_DIR, 'files/monitoring/rules/paysync.rules.yaml'), 'utf8'),
  ) as { groups: { name: string; rules: Json[] }[] };
  const specOf = (manifests: Manifest[]) => one(manifests, 'PrometheusRule', 'paysync').spec;
  const ruleOf = (manifests: Manifest[], alert: string) =>
    specOf(manifests)
      .groups.flatMap((g: Json) => g.rules)
      .find((r: Json) => r.alert === alert);
  const promtool = (args: string[]) => runTool(join(PATHS.bin, 'promtool'), args);
  const dir = mkdtempSync(join(tmpdir(), 'paysync-rules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are the promtool-tested file, every selector scoped to the release’s namespace', () => {
    const spec = specOf(render({ namespace: 'pay-prod' }));
    const rendered = spec.groups.flatMap((g: Json) => g.rules);
    const original = rulesFile.groups.flatMap((g) => g.rules);
    expect(rendered.map((r: Json) => r.alert ?? r.record)).toEqual(original.map((r) => r.alert ?? r.record));
    for (const [i, r] of rendered.entries()) {
      const o = original[i] as Json;
      expect({ ...r, expr: undefined }).toEqual({ ...o, expr: undefined });
      // Every paysync series and every up{} the rule reads is this namespace's.
      const bare = [
        ...r.expr.matchAll(/(paysync_[a-z0-9_]+|paysync:[a-z0-9_:]+|\bup)(\{namespace="pay-prod")?/g),
      ]
        .filter((m) => m[2] === undefined)
        .map((m) => m[1]);
      expect({ rule: r.alert ?? r.record, unscoped: bare }).toEqual({
        rule: r.alert ?? r.record,
        unscoped: [],
      });
    }
    writeFileSync(join(dir, 'rendered.yaml'), stringify({ groups: spec.groups }));
    const check = promtool(['check', 'rules', join(dir, 'rendered.yaml')]);
    expect(check.stdout + check.stderr).toContain('SUCCESS');
  });

  it('keep two releases apart: one namespace’s outage pages with its namespace, never in the other', () => {
    const files = ['pay-prod', 'pay-staging'].map((ns) => {
      const file = join(dir, `${ns}.yaml`);
      writeFileSync(file, stringify({ groups: specOf(render({ namespace: ns })).groups }));
      return file;
    });
    const ledgerDown = rulesFile.groups
      .flatMap((g) => g.rules)
      .find((r) => r.alert === 'PaysyncLedgerDown') as Json;
    const up = (ns: string, job: string, v: string) => ({
      series: `up{namespace="${ns}",job="${job}",instance="x"}`,
      values: v,
    });
    const series = ['pay-prod', 'pay-staging'].flatMap((ns) =>
      ['paysync-callback-gateway', 'paysync-alerting', 'paysync-operator'].map((j) => up(ns, j, '1x20')),
    );
    series.push(
      up('pay-prod', 'paysync-points-ledger', '1x20'),
      up('pay-staging', 'paysync-points-ledger', '0x20'),
    );
    const test = (rules: string, expAlerts: Json[]) => ({
      rule_files: [rules],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: series,
          alert_rule_test: [{ eval_time: '10m', alertname: 'PaysyncLedgerDown', exp_alerts: expAlerts }],
        },
      ],
    });
    writeFileSync(join(dir, 'prod.test.yaml'), stringify(test(files[0] as string, [])));
    writeFileSync(
      join(dir, 'staging.test.yaml'),
      stringify(
        test(files[1] as string, [
          {
            exp_labels: { ...ledgerDown.labels, namespace: 'pay-staging', job: 'paysync-points-ledger' },
            exp_annotations: ledgerDown.annotations,
          },
        ]),
      ),
    );
    const r = promtool(['test', 'rules', join(dir, 'prod.test.yaml'), join(dir, 'staging.test.yaml')]);
    expect(r.stdout + r.stderr).not.toContain('FAILED');
    expect(r.code).toBe(0);
  });

  it('take thresholds, for, severity, labels, runbook links and disabling from values', () => {
    const tuned = render({
      set: [
        'monitoring.alerts.PaysyncOldestPendingOrderTooOld.threshold=10800',
        'monitoring.alerts.PaysyncOldestPendingOrderTooOld.for=30m',
        'monitoring.alerts.PaysyncLatePayments.severity=info',
        'monitoring.alerts.PaysyncLatePayments.labels.team=finance',
        'monitoring.alerts.PaysyncOperatorDown.enabled=false',
        'monitoring.prometheusRule.alertLabels.env=prod',
        'monitoring.runbookBaseUrl=https://wiki.example.com/paysync/runbooks',
      ],
    });
    const oldest = ruleOf(tuned, 'PaysyncOldestPendingOrderTooOld');
    expect(oldest.expr).toMatch(/> 10800$/);
    expect(oldest.for).toBe('30m');
    expect(oldest.annotations.threshold).toBe('10800');
    expect(oldest.annotations.runbook_url).toBe(
      'https://wiki.example.com/paysync/runbooks/oldest-pending-order.md',
    );
    expect(oldest.labels).toMatchObject({ env: 'prod', severity: 'warning' });
    expect(ruleOf(tuned, 'PaysyncLatePayments').labels).toEqual({
      severity: 'info',
      component: 'points-ledger',
      team: 'finance',
      env: 'prod',
    });
    expect(ruleOf(tuned, 'PaysyncOperatorDown')).toBeUndefined();
    const defaults = render();
    expect(ruleOf(defaults, 'PaysyncOldestPendingOrderTooOld').expr).toMatch(/> 7200$/);
  });

  it('tune the stuck-refund alert from values like the others', () => {
    const stuck = ruleOf(
      render({
        set: [
          'monitoring.alerts.PaysyncRefundStuck.threshold=259200',
          'monitoring.alerts.PaysyncRefundStuck.for=1h',
          'monitoring.alerts.PaysyncRefundStuck.severity=critical',
        ],
      }),
      'PaysyncRefundStuck',
    );
    expect(stuck.expr).toMatch(/> 259200$/);
    expect(stuck.for).toBe('1h');
    expect(stuck.labels.severity).toBe('critical');
    expect(stuck.annotations.threshold).toBe('259200');
    expect(ruleOf(render(), 'PaysyncRefundStuck').expr).toMatch(/> 432000$/);
  });

  it('leave out the down-alerts of components the release does not run', () => {
    const manifests = render({
      set: ['alerting.enabled=false', 'reconciler.operator.enabled=false', 'orderService.enabled=false'],
    });
    for (const a of [
      'PaysyncAlertingDown',
      'PaysyncOperatorDown',
      'PaysyncOperatorNoLeader',
      'PaysyncOrderServiceDown',
    ])
      expect(ruleOf(manifests, a)).toBeUndefined();
    expect(ruleOf(manifests, 'PaysyncGatewayDown')).toBeDefined();
  });

  it('page for the order service under the job its ServiceMonitor gives it', () => {
    const manifests = render();
    const rule = ruleOf(manifests, 'PaysyncOrderServiceDown');
    const monitor = one(manifests, 'ServiceMonitor', '-order-service');
    const job = monitor.spec.endpoints[0].relabelings.find((r: Json) => r.targetLabel === 'job')?.replacement;
    expect(job).toBe('paysync-order-service');
    expect(rule.expr).toContain(`up{namespace="paysync",job="${job}"}`);
    const service = one(manifests, 'Service', '-order-service');
    expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    expect(service.spec.ports.map((p: Json) => p.name)).toContain('metrics');
  });

  it('refuse values that would silently do nothing', () => {
    expect(() => render({ set: ['monitoring.alerts.PaysyncNoSuchAlert.enabled=false'] })).toThrow(
      /PaysyncNoSuchAlert: no such alert/,
    );
    expect(() => render({ set: ['monitoring.alerts.PaysyncSettlementMismatch.threshold=3'] })).toThrow(
      /has no threshold to change/,
    );
  });
});

describe('the install notes', () => {
  it('show payctl from the operator’s pod, on the image’s PATH', () => {
    const notes = renderNotes();
    expect(notes).toMatch(
      /exec deploy\/paysync-operator -- \\\s+payctl check-notify-url https:\/\/pay\.example\.com\//,
    );
    expect(notes).toContain('exec deploy/paysync-operator -- payctl order <out_trade_no>');
    expect(notes).not.toContain('node packages/cli/src/bin.ts');
  });
});
