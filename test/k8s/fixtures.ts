// What the Kubernetes tests share: the test cluster, the CRDs to install, where things are.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../../scripts/infra/config.ts';
import { type Cluster, startCluster } from '../../scripts/k8s/cluster.ts';
import { CHART_DIR } from '../../scripts/k8s/helm.ts';
import type { KubeObject } from './kube.ts';

/**
 * The Prometheus operator's CRDs (ServiceMonitor, PodMonitor, PrometheusRule), vendored for the
 * tests in test/k8s/crds (see its README): the chart renders these kinds but does not own them.
 */
export const MONITORING_CRD_DIR = join(ROOT, 'test', 'k8s', 'crds', 'monitoring.coreos.com');
export const SCHEMA_DIR = join(ROOT, 'test', 'k8s', 'schemas');

/** How long a test may wait for kube-apiserver to be built on a cold machine (see scripts/k8s/README.md). */
export const CLUSTER_START_TIMEOUT_MS = 60 * 60_000;

function yamlObjects(path: string): KubeObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => d.toJSON() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

export function paymentRepairCrd(): KubeObject {
  return yamlObjects(join(CHART_DIR, 'crds', 'paymentrepairs.paysync.io.yaml'))[0] as KubeObject;
}

export function monitoringCrds(): KubeObject[] {
  if (!existsSync(MONITORING_CRD_DIR)) throw new Error(`${MONITORING_CRD_DIR} is missing`);
  return readdirSync(MONITORING_CRD_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => yamlObjects(join(MONITORING_CRD_DIR, f)));
}

export async function startTestCluster(name: string): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), `paysync-k8s-${name}-`));
  return startCluster({ dir });
}
