// Writes k8s/ from the chart, for users without Helm:
//   k8s/crds/          the CRDs the chart installs (copies of charts/paysync/crds)
//   k8s/manifests/     every object of the chart rendered with k8s/manifests/values.yaml
//
//   node scripts/k8s/render.ts            (re)write them
//   node scripts/k8s/render.ts --check    exit 1 when they differ from what the chart renders
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../infra/config.ts';
import { InfraError } from '../infra/errors.ts';
import { CHART_DIR, helmTemplate } from './helm.ts';

export const K8S_DIR = join(ROOT, 'k8s');
export const PLAIN_VALUES = join(K8S_DIR, 'manifests', 'values.yaml');
export const PLAIN_MANIFESTS = join(K8S_DIR, 'manifests', 'paysync.yaml');

const HEADER = `# paysync, rendered from charts/paysync with k8s/manifests/values.yaml for users without Helm
# (namespace paysync, release paysync). Do not edit: change the values and run
# \`node scripts/k8s/render.ts\`. Install the CRD first: kubectl apply -f k8s/crds/
# Then create the Secrets it names (paysync-mysql-<component> for gateway, ledger, reconciler,
# operator, alerting and migrate; paysync-wechatpay; paysync-gateway-api).
`;

/** What k8s/ should hold: file path → content. */
export function expectedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of readdirSync(join(CHART_DIR, 'crds'))) {
    files.set(join(K8S_DIR, 'crds', f), readFileSync(join(CHART_DIR, 'crds', f), 'utf8'));
  }
  const r = helmTemplate({ values: [PLAIN_VALUES] });
  if (r.code !== 0) throw new InfraError('HELM', `helm template failed: ${r.stderr.trim()}`);
  files.set(PLAIN_MANIFESTS, HEADER + r.stdout);
  return files;
}

function main(check: boolean): number {
  const stale: string[] = [];
  for (const [path, content] of expectedFiles()) {
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current === content) continue;
    if (check) stale.push(path);
    else {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, content);
    }
  }
  if (stale.length > 0) {
    process.stderr.write(`out of date (run node scripts/k8s/render.ts):\n  ${stale.join('\n  ')}\n`);
    return 1;
  }
  return 0;
}

if (import.meta.main) process.exit(main(process.argv.includes('--check')));
