import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { apiGet, type Cluster } from '../../scripts/k8s/cluster.ts';
import { HELM } from '../../scripts/k8s/helm.ts';
import { kubernetesSchemas } from '../../scripts/k8s/schemas.ts';
import { CHART_DIR, CI_VALUES, type Manifest, render } from '../k8s/chart.ts';
import {
  CLUSTER_START_TIMEOUT_MS,
  monitoringCrds,
  paymentRepairCrd,
  SCHEMA_DIR,
  startTestCluster,
} from '../k8s/fixtures.ts';
import { KubeClient, type KubeObject } from '../k8s/kube.ts';

// Every manifest the chart renders, sent to a real kube-apiserver (built from k8s.io/kubernetes at
// the pinned version, on Debian's etcd) as a server-side dry-run apply with strict field validation,
// in a namespace that enforces the restricted Pod Security Standard.

let cluster: Cluster;

function messageOf(body: string): string {
  return (JSON.parse(body) as { message?: string }).message ?? body;
}
let kube: KubeClient;

beforeAll(async () => {
  cluster = await startTestCluster('apiserver');
  kube = new KubeClient(cluster);
  await kube.installCrds([paymentRepairCrd(), ...monitoringCrds()]);
  for (const ns of ['paysync', 'grafana']) {
    const r = await kube.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: ns,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
        },
      },
    });
    expect(r.status).toBe(201);
  }
}, CLUSTER_START_TIMEOUT_MS);

afterAll(async () => {
  await cluster?.stop();
});

describe('the test API server', () => {
  it('is kube-apiserver at the pinned version, behind TLS and a token', async () => {
    const version = await apiGet(cluster.server, '/version', cluster.token, cluster.caPem);
    expect(JSON.parse(version.body)).toMatchObject({ gitVersion: 'v1.37.2', major: '1', minor: '37' });
    const anonymous = await apiGet(cluster.server, '/api/v1/namespaces', 'not-a-token', cluster.caPem);
    expect(anonymous.status).toBe(401);
  });

  it('serves the OpenAPI document the vendored kubeconform schemas were generated from', async () => {
    const r = await apiGet(cluster.server, '/openapi/v2', cluster.token, cluster.caPem);
    const generated = kubernetesSchemas(JSON.parse(r.body));
    const dir = join(SCHEMA_DIR, `${cluster.version}-strict`);
    const vendored = readdirSync(dir).sort();
    expect(vendored).toEqual([...generated.keys()].sort());
    for (const file of ['_definitions.json', 'deployment-apps-v1.json', 'cronjob-batch-v1.json']) {
      expect([file, JSON.parse(readFileSync(join(dir, file), 'utf8'))]).toEqual([file, generated.get(file)]);
    }
  });
});

const cases: [string, string[]][] = [
  ['default values', []],
  ...CI_VALUES.map((f): [string, string[]] => [f.split('/').at(-1) as string, [f]]),
];

describe('server-side dry-run apply', () => {
  it.each(cases)(
    'accepts every object the chart renders with %s, without warnings',
    async (_name, values) => {
      const manifests = render({ values });
      expect(manifests.length).toBeGreaterThan(5);
      const refused: string[] = [];
      for (const m of manifests) {
        const r = await kube.apply(m as KubeObject, { dryRun: true, namespace: 'paysync' });
        if (r.status !== 200 && r.status !== 201)
          refused.push(`${m.kind}/${m.metadata.name}: ${r.status} ${r.body.slice(0, 400)}`);
        else if (r.warnings.length > 0)
          refused.push(`${m.kind}/${m.metadata.name} warned: ${r.warnings.join('; ')}`);
      }
      expect(refused).toEqual([]);
    },
  );

  it('stores nothing on a dry run', async () => {
    const deployments = await kube.list('apps/v1', 'Deployment', 'paysync');
    expect(deployments).toEqual([]);
  });

  it('refuses what the chart must never render: a misspelt field and a privileged pod', async () => {
    const cron = render().find((m) => m.kind === 'CronJob') as Manifest;
    const typo = structuredClone(cron);
    typo.spec.concurrencyPolcy = 'Forbid';
    const r1 = await kube.apply(typo as KubeObject, { dryRun: true, namespace: 'paysync' });
    // Server-side apply refuses a field the type does not declare before anything is stored.
    expect(r1.status).toBeGreaterThanOrEqual(400);
    expect(messageOf(r1.body)).toContain('.spec.concurrencyPolcy: field not declared in schema');
    const deployment = render().find((m) => m.kind === 'Deployment') as Manifest;
    const privileged = structuredClone(deployment);
    privileged.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
    const r2 = await kube.apply(privileged as KubeObject, { dryRun: true, namespace: 'paysync' });
    expect(r2.warnings.join(' ')).toContain('allowPrivilegeEscalation');
  });

  it('accepts the plain manifests in k8s/manifests', async () => {
    const text = readFileSync(join(CHART_DIR, '..', '..', 'k8s', 'manifests', 'paysync.yaml'), 'utf8');
    const { parseManifests } = await import('../k8s/chart.ts');
    const refused: string[] = [];
    for (const m of parseManifests(text)) {
      const r = await kube.apply(m as KubeObject, { dryRun: true });
      if (r.status >= 300 || r.warnings.length > 0)
        refused.push(`${m.kind}/${m.metadata.name}: ${r.status} ${r.warnings}`);
    }
    expect(refused).toEqual([]);
  });
});

describe('PaymentRepair validation by the API server', () => {
  const base = {
    apiVersion: 'paysync.io/v1alpha1',
    kind: 'PaymentRepair',
    metadata: { name: 'probe', namespace: 'paysync' },
  };
  const ok = { action: 'sync', dryRun: true, reason: 'customer ticket 42', outTradeNos: ['RC0000000001'] };

  it.each([
    ['no reason', { action: 'sync', dryRun: true, outTradeNos: ['RC0000000001'] }, 'reason'],
    ['a blank reason', { ...ok, reason: '   ' }, 'spec.reason'],
    ['no dryRun', { action: 'sync', reason: 'x', outTradeNos: ['RC0000000001'] }, 'dryRun'],
    ['an unknown action', { ...ok, action: 'refund' }, 'Unsupported value: "refund"'],
    [
      'orders and a range',
      { ...ok, createdFrom: '2026-01-01T00:00:00Z', createdTo: '2026-01-02T00:00:00Z' },
      'either by outTradeNos',
    ],
    ['no selection', { action: 'sync', dryRun: true, reason: 'x' }, 'either by outTradeNos'],
    [
      'a range backwards',
      {
        action: 'sync',
        dryRun: true,
        reason: 'x',
        createdFrom: '2026-01-02T00:00:00Z',
        createdTo: '2026-01-01T00:00:00Z',
      },
      'createdFrom must be before createdTo',
    ],
    [
      'a replay of a range',
      {
        action: 'replay',
        dryRun: true,
        reason: 'x',
        createdFrom: '2026-01-01T00:00:00Z',
        createdTo: '2026-01-02T00:00:00Z',
      },
      'replay needs outTradeNos',
    ],
    ['an out_trade_no with a space', { ...ok, outTradeNos: ['RC 000001'] }, 'spec.outTradeNos[0]'],
    ['an unknown field', { ...ok, force: true }, '.spec.force: field not declared in schema'],
  ])('refuses a spec with %s', async (_what, spec, message) => {
    const r = await kube.apply({ ...base, spec } as KubeObject, { dryRun: true });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(messageOf(r.body)).toContain(message);
  });

  it('accepts the examples in k8s/examples', async () => {
    const dir = join(CHART_DIR, '..', '..', 'k8s', 'examples');
    const { parse } = await import('yaml');
    const refused: string[] = [];
    for (const f of readdirSync(dir)) {
      const example = parse(readFileSync(join(dir, f), 'utf8')) as KubeObject;
      // generateName works with create, not with apply: give the dry run a name.
      if (!example.metadata.name) example.metadata.name = `example-${f.replace(/\.yaml$/, '')}`;
      const r = await kube.apply(example, { dryRun: true });
      if (r.status >= 300) refused.push(`${f}: ${r.status} ${messageOf(r.body)}`);
    }
    expect(refused).toEqual([]);
  });

  it('keeps a spec immutable once created', async () => {
    const created = await kube.create({
      ...base,
      metadata: { ...base.metadata, name: 'immutable' },
      spec: ok,
    } as KubeObject);
    expect(created.status).toBe(201);
    const stored = JSON.parse(created.body) as KubeObject & { spec: typeof ok };
    const changed = await kube.replace({ ...stored, spec: { ...stored.spec, dryRun: false } });
    expect(changed.status).toBe(422);
    expect(messageOf(changed.body)).toContain('spec is immutable');
    await kube.delete('paysync.io/v1alpha1', 'PaymentRepair', 'immutable', 'paysync');
  });

  it('prints action, dry run, phase and counts in kubectl get', async () => {
    const created = await kube.create({
      ...base,
      metadata: { ...base.metadata, name: 'table' },
      spec: ok,
    } as KubeObject);
    expect(created.status).toBe(201);
    const table = await kube.request(
      'GET',
      '/apis/paysync.io/v1alpha1/namespaces/paysync/paymentrepairs',
      undefined,
      undefined,
      'application/json;as=Table;v=v1;g=meta.k8s.io',
    );
    const parsed = JSON.parse(table.body) as {
      columnDefinitions: { name: string }[];
      rows: { cells: unknown[] }[];
    };
    expect(parsed.columnDefinitions.map((c) => c.name)).toEqual([
      'Name',
      'Action',
      'Dry-Run',
      'Phase',
      'Selected',
      'Changed',
      'Errors',
      'Age',
    ]);
    expect(parsed.rows.find((r) => r.cells[0] === 'table')?.cells.slice(1, 3)).toEqual(['sync', true]);
    await kube.delete('paysync.io/v1alpha1', 'PaymentRepair', 'table', 'paysync');
  });
});

describe('helm against the API server', () => {
  it('installs as a dry run and prints the notify URL to register', async () => {
    const home = mkdtempSync(join(tmpdir(), 'paysync-helm-'));
    try {
      const { stdout } = await promisify(execFile)(
        HELM,
        [
          'install',
          'paysync',
          CHART_DIR,
          '--namespace',
          'paysync',
          '--dry-run=server',
          '--values',
          join(CHART_DIR, 'ci', 'production-values.yaml'),
        ],
        {
          env: {
            PATH: process.env.PATH ?? '',
            HOME: home,
            KUBECONFIG: cluster.kubeconfigPath,
            HELM_CACHE_HOME: join(home, 'cache'),
            HELM_CONFIG_HOME: join(home, 'config'),
            HELM_DATA_HOME: join(home, 'data'),
          },
          maxBuffer: 32 * 1024 * 1024,
        },
      );
      const notes = stdout.slice(stdout.indexOf('NOTES:'));
      expect(notes).toContain('https://pay.merchant.example.cn/api/payment/wechat/callback');
      expect(notes).toContain('check-notify-url');
      expect(notes).not.toContain('WARNING');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
