import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { crdSchemas, writeSchemaFiles } from '../../scripts/k8s/schemas.ts';
import { CHART_DIR, CI_VALUES, kubeconform, type Manifest, render, renderText } from '../k8s/chart.ts';
import { monitoringCrds, paymentRepairCrd, SCHEMA_DIR } from '../k8s/fixtures.ts';

// kubeconform in strict mode against schemas from honest sources: the Kubernetes kinds vendored from
// the test kube-apiserver's /openapi/v2 (test/k8s/schemas, `node scripts/k8s/apiserver.ts schemas`),
// and the CRD kinds generated here from the CRDs themselves. No kind may be skipped.

const crdDir = mkdtempSync(join(tmpdir(), 'paysync-crd-schemas-'));
afterAll(() => rmSync(crdDir, { recursive: true, force: true }));
for (const crd of [paymentRepairCrd(), ...monitoringCrds()]) {
  writeSchemaFiles(crdDir, crdSchemas(crd as unknown as Parameters<typeof crdSchemas>[0]));
}
const LOCATIONS = [
  join(SCHEMA_DIR, '{{.NormalizedKubernetesVersion}}{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json'),
  join(crdDir, '{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json'),
];

function validate(text: string) {
  const result = kubeconform(text, LOCATIONS);
  // An empty document (comments only, or nothing between two ---): kubectl ignores it too.
  const bad = result.resources.filter(
    (r) => r.status !== 'statusValid' && r.status !== 'statusEmpty' && !(r.status === '' && r.kind === ''),
  );
  return { result, bad: bad.map((r) => `${r.kind}/${r.name}: ${r.status} ${r.msg}`) };
}

describe('kubeconform -strict', () => {
  const cases: [string, string[]][] = [
    ['default values', []],
    ...CI_VALUES.map((f): [string, string[]] => [f.split('/').at(-1) as string, [f]]),
  ];

  it.each(cases)('validates every object rendered with %s, skipping none', (_name, values) => {
    const text = renderText({ values, includeCrds: true });
    const count = render({ values, includeCrds: true }).length;
    const { result, bad } = validate(text);
    expect(bad).toEqual([]);
    expect(result.resources.filter((r) => r.status === 'statusValid').length).toBe(count);
    expect(result.code).toBe(0);
  });

  it('validates the plain manifests and the example PaymentRepairs in k8s/', () => {
    const root = join(CHART_DIR, '..', '..', 'k8s');
    const texts = [
      readFileSync(join(root, 'manifests', 'paysync.yaml'), 'utf8'),
      ...[
        'paymentrepair.yaml',
        'paymentrepair-dry-run.yaml',
        'paymentrepair-close.yaml',
        'paymentrepair-replay.yaml',
      ].map((f) => readFileSync(join(root, 'examples', f), 'utf8')),
    ];
    const { result, bad } = validate(texts.join('\n---\n'));
    expect(bad).toEqual([]);
    expect(result.resources.some((r) => r.kind === 'PaymentRepair')).toBe(true);
  });

  it('finds a misspelt field in a Kubernetes kind and in a custom resource', () => {
    const cron = render().find((m) => m.kind === 'CronJob') as Manifest;
    cron.spec.jobTemplate.spec.activeDeadline = 60;
    const monitor = render().find((m) => m.kind === 'ServiceMonitor') as Manifest;
    monitor.spec.endpoints[0].intervall = '30s';
    const repair = {
      apiVersion: 'paysync.io/v1alpha1',
      kind: 'PaymentRepair',
      metadata: { name: 'typo' },
      spec: { action: 'sync', dryRun: true, reason: 'x', outTradeNos: ['RC000001'], dryrun: false },
    };
    const { bad } = validate([cron, monitor, repair].map((m) => stringify(m)).join('---\n'));
    expect(bad).toHaveLength(3);
    expect(bad.join('\n')).toContain('activeDeadline');
    expect(bad.join('\n')).toContain('intervall');
    expect(bad.join('\n')).toContain('dryrun');
  });

  it('refuses a kind it has no schema for rather than skipping it', () => {
    const { bad } = validate(
      stringify({ apiVersion: 'example.com/v1', kind: 'Unknown', metadata: { name: 'x' } }),
    );
    expect(bad.join('\n')).toContain('could not find schema');
  });
});
