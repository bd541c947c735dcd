// Renders the chart with the real helm and parses what it printed, for the chart's tests.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  CHART_DIR,
  helmTemplate,
  KUBECONFORM,
  runTool,
  type TemplateOptions,
} from '../../scripts/k8s/helm.ts';

export {
  CHART_DIR,
  helmLint,
  helmTemplate,
  KUBE_VERSION,
  MONITORING_API_VERSIONS,
  runTool,
} from '../../scripts/k8s/helm.ts';

/** Any JSON value of a rendered manifest: tests read them by path. */
// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are arbitrary JSON, read by path in tests
export type Json = any;

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: Json };
  [k: string]: Json;
};

export const CI_VALUES = ['minimal', 'production', 'sharded'].map((n) =>
  join(CHART_DIR, 'ci', `${n}-values.yaml`),
);

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors[0]?.message}`);
      return d.toJSON() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

/** helm template → objects; throws with helm's message when it fails. */
export function render(opts: TemplateOptions = {}): Manifest[] {
  const r = helmTemplate(opts);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr.trim()}`);
  return parseManifests(r.stdout);
}

export function renderText(opts: TemplateOptions = {}): string {
  const r = helmTemplate(opts);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr.trim()}`);
  return r.stdout;
}

export function byKind(manifests: Manifest[], kind: string): Manifest[] {
  return manifests.filter((m) => m.kind === kind);
}

export function one(manifests: Manifest[], kind: string, nameSuffix: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name.endsWith(nameSuffix));
  if (found.length !== 1) throw new Error(`expected one ${kind} *${nameSuffix}, found ${found.length}`);
  return found[0] as Manifest;
}

/** The pod spec of a workload (Deployment or CronJob). */
// biome-ignore lint/suspicious/noExplicitAny: see Manifest
export function podSpecOf(m: Manifest): any {
  return m.kind === 'CronJob' ? m.spec.jobTemplate.spec.template.spec : m.spec.template.spec;
}

export function workloads(manifests: Manifest[]): Manifest[] {
  return manifests.filter((m) => m.kind === 'Deployment' || m.kind === 'CronJob');
}

/** kubeconform in strict mode against the given schema locations; the parsed per-resource results. */
export function kubeconform(
  manifestText: string,
  schemaLocations: string[],
): {
  code: number;
  resources: { filename: string; kind: string; name: string; status: string; msg: string }[];
  stderr: string;
} {
  const args = [
    '-strict',
    '-summary',
    '-output',
    'json',
    '-kubernetes-version',
    '1.37.2',
    ...schemaLocations.flatMap((s) => ['-schema-location', s]),
    '-verbose',
    '-',
  ];
  const r = runTool(KUBECONFORM, args, manifestText);
  const parsed = r.stdout
    ? (JSON.parse(r.stdout) as {
        resources?: { filename: string; kind: string; name: string; status: string; msg: string }[];
      })
    : {};
  return { code: r.code, resources: parsed.resources ?? [], stderr: r.stderr };
}

/**
 * The install notes (NOTES.txt) as helm would print them after an install: rendered from a copy of
 * the chart where they are one value of a ConfigMap (helm template never prints NOTES.txt).
 */
export function renderNotes(opts: TemplateOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'paysync-notes-'));
  try {
    const chart = join(dir, 'paysync');
    cpSync(CHART_DIR, chart, { recursive: true });
    const notes = readFileSync(join(chart, 'templates', 'NOTES.txt'), 'utf8');
    rmSync(join(chart, 'templates', 'NOTES.txt'));
    writeFileSync(
      join(chart, 'templates', '_notes.tpl'),
      `{{- define "test.notes" -}}\n${notes}\n{{- end }}\n`,
    );
    writeFileSync(
      join(chart, 'templates', 'notes.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: install-notes\ndata:\n  notes: {{ include "test.notes" . | quote }}\n',
    );
    const found = render({ ...opts, chart }).find(
      (m) => m.kind === 'ConfigMap' && m.metadata.name === 'install-notes',
    );
    return String(found?.data.notes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
