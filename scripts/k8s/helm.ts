// helm and kubeconform as the chart's tests and the k8s/ renderer call them (.cache/bin, built by
// `node scripts/infra.ts tools`).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PATHS, ROOT } from '../infra/config.ts';
import { InfraError } from '../infra/errors.ts';

export const CHART_DIR = join(ROOT, 'charts', 'paysync');
export const HELM = join(PATHS.bin, 'helm');
export const KUBECONFORM = join(PATHS.bin, 'kubeconform');
/** The Kubernetes version the chart is rendered for in tests (the test API server's). */
export const KUBE_VERSION = '1.37.2';

/**
 * The Prometheus Operator's kinds the chart renders only where the cluster has them
 * (.Capabilities.APIVersions.Has): tests and the plain manifests render for a cluster that does.
 */
export const MONITORING_API_VERSIONS = [
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
];

export type HelmResult = { code: number; stdout: string; stderr: string };

function tool(path: string): string {
  if (!existsSync(path)) {
    throw new InfraError('TOOL_MISSING', `${path} is missing: run \`node scripts/infra.ts tools\` first`);
  }
  return path;
}

/** Runs a tool; never throws for a non-zero exit (the caller asserts). */
export function runTool(path: string, args: string[], input?: string): HelmResult {
  try {
    const stdout = execFileSync(tool(path), args, {
      encoding: 'utf8',
      input,
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export type TemplateOptions = {
  /** Another chart directory (a test's modified copy); default CHART_DIR. */
  chart?: string;
  release?: string;
  namespace?: string;
  values?: string[];
  set?: string[];
  includeCrds?: boolean;
  /** API versions the cluster offers beyond the built-in ones; default MONITORING_API_VERSIONS. */
  apiVersions?: string[];
};

export function helmTemplate(opts: TemplateOptions = {}): HelmResult {
  const args = [
    'template',
    opts.release ?? 'paysync',
    opts.chart ?? CHART_DIR,
    '--namespace',
    opts.namespace ?? 'paysync',
    '--kube-version',
    KUBE_VERSION,
    ...(opts.includeCrds ? ['--include-crds'] : []),
    ...(opts.apiVersions ?? MONITORING_API_VERSIONS).flatMap((v) => ['--api-versions', v]),
  ];
  for (const v of opts.values ?? []) args.push('--values', v);
  for (const s of opts.set ?? []) args.push('--set', s);
  return runTool(HELM, args);
}

export function helmLint(values: string[] = []): HelmResult {
  return runTool(HELM, ['lint', '--strict', CHART_DIR, ...values.flatMap((v) => ['--values', v])]);
}
