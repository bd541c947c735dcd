// The test Kubernetes API server, by hand (tests start their own through cluster.ts).
//
//   node scripts/k8s/apiserver.ts build      build kube-apiserver into .cache/bin (no-op when current)
//   node scripts/k8s/apiserver.ts start      etcd + kube-apiserver under .cache/k8s/cluster; prints KUBECONFIG
//   node scripts/k8s/apiserver.ts stop       stops what `start` started and removes its directory
//   node scripts/k8s/apiserver.ts status     running or not, with the address
//   node scripts/k8s/apiserver.ts schemas    regenerate test/k8s/schemas from a fresh API server
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE, ROOT } from '../infra/config.ts';
import { InfraError } from '../infra/errors.ts';
import { progress } from '../infra/log.ts';
import { alive, stopProcess } from '../infra/proc.ts';
import { ensureKubeApiserver } from './build.ts';
import { startCluster } from './cluster.ts';
import { writeKubernetesSchemas } from './schemas.ts';

const DIR = join(CACHE, 'k8s', 'cluster');
const STATE = join(CACHE, 'k8s', 'cluster.json');
export const SCHEMA_DIR = join(ROOT, 'test', 'k8s', 'schemas');

type State = { server: string; kubeconfig: string; pids: { etcd: number; apiserver: number } };

function readState(): State | undefined {
  if (!existsSync(STATE)) return undefined;
  return JSON.parse(readFileSync(STATE, 'utf8')) as State;
}

async function start(): Promise<void> {
  const state = readState();
  if (state && alive(state.pids.apiserver)) {
    process.stdout.write(`export KUBECONFIG=${state.kubeconfig}\n`);
    return;
  }
  rmSync(DIR, { recursive: true, force: true });
  const cluster = await startCluster({ dir: DIR, detached: true });
  writeFileSync(
    STATE,
    JSON.stringify({ server: cluster.server, kubeconfig: cluster.kubeconfigPath, pids: cluster.pids }),
  );
  progress(`k8s: kube-apiserver ${cluster.version} ready at ${cluster.server}`);
  process.stdout.write(`export KUBECONFIG=${cluster.kubeconfigPath}\n`);
}

async function stop(): Promise<void> {
  const state = readState();
  if (!state) {
    progress('k8s: not running');
    return;
  }
  await stopProcess(state.pids.apiserver, 'kube-apiserver', 15_000);
  await stopProcess(state.pids.etcd, 'etcd', 10_000);
  rmSync(DIR, { recursive: true, force: true });
  rmSync(STATE, { force: true });
  progress('k8s: stopped');
}

async function schemas(): Promise<void> {
  const dir = join(CACHE, 'k8s', 'schemas-cluster');
  rmSync(dir, { recursive: true, force: true });
  const cluster = await startCluster({ dir });
  try {
    const written = await writeKubernetesSchemas(cluster, SCHEMA_DIR);
    progress(`k8s: wrote ${written} schemas under ${SCHEMA_DIR}`);
  } finally {
    await cluster.stop();
  }
}

async function main(command: string | undefined): Promise<void> {
  switch (command) {
    case 'build':
      await ensureKubeApiserver();
      return;
    case 'start':
      return start();
    case 'stop':
      return stop();
    case 'status': {
      const state = readState();
      const running = state !== undefined && alive(state.pids.apiserver);
      process.stdout.write(
        running ? `running ${state.server} (KUBECONFIG=${state.kubeconfig})\n` : 'stopped\n',
      );
      return;
    }
    case 'schemas':
      return schemas();
    default:
      throw new InfraError('USAGE', 'usage: node scripts/k8s/apiserver.ts <build|start|stop|status|schemas>');
  }
}

try {
  await main(process.argv[2]);
} catch (err) {
  if (err instanceof InfraError) {
    process.stderr.write(`k8s: ${err.message}\n${err.details ? `${err.details}\n` : ''}`);
    process.exit(1);
  }
  throw err;
}
