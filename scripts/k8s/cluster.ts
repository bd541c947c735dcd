// A real Kubernetes control plane for tests: etcd (Debian's etcd-server) and kube-apiserver (built by
// build.ts) on loopback ports, with TLS, a static admin token, service-account keys, RBAC and the
// default admission plugins. No controller-manager, scheduler or kubelet: objects are stored and
// validated exactly as in a cluster, but nothing runs pods. Everything lives in one directory.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfraError } from '../infra/errors.ts';
import { tail } from '../infra/log.ts';
import { alive, stopProcess } from '../infra/proc.ts';
import { ensureKubeApiserver, KUBERNETES_VERSION } from './build.ts';
import { createPki, kubeconfigYaml, type Pki } from './pki.ts';

export const ETCD_BINARY = '/usr/bin/etcd';

export type Cluster = {
  /** https://127.0.0.1:<port> */
  server: string;
  version: string;
  pki: Pki;
  token: string;
  caPem: string;
  kubeconfigPath: string;
  dir: string;
  pids: { etcd: number; apiserver: number };
  /** Stops kube-apiserver, then etcd; removes the directory unless `keep`. */
  stop(opts?: { keep?: boolean }): Promise<void>;
};

export type StartOptions = {
  /** Directory for data, certificates, logs and the kubeconfig (created; removed on stop). */
  dir: string;
  /** Children outlive this process (the CLI's `start`); tests leave it false. */
  detached?: boolean;
  /** How long to wait for /readyz. */
  readyTimeoutMs?: number;
};

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function launch(cmd: string, args: string[], logFile: string, detached: boolean): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { detached, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new InfraError('SPAWN_FAILED', `could not start ${cmd}`);
    if (detached) child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

async function waitFor(
  what: string,
  logFile: string,
  pid: number,
  timeoutMs: number,
  probe: () => Promise<boolean>,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) throw new InfraError('K8S_START', `${what} exited while starting`, tail(logFile, 30));
    if (await probe().catch(() => false)) return;
    await sleep(250);
  }
  throw new InfraError('K8S_START', `${what} was not ready within ${timeoutMs / 1000}s`, tail(logFile, 30));
}

async function etcdHealthy(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  if (!res.ok) return false;
  const body = (await res.json()) as { health?: string };
  return body.health === 'true';
}

/** GET with the admin token over the cluster's CA (node:https: fetch cannot take a CA per call). */
export function apiGet(
  server: string,
  path: string,
  token: string,
  ca: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}${path}`,
      { ca, headers: { authorization: `Bearer ${token}` }, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startCluster(opts: StartOptions): Promise<Cluster> {
  if (!existsSync(ETCD_BINARY)) {
    throw new InfraError('NO_ETCD', `${ETCD_BINARY} is missing: apt-get install etcd-server`);
  }
  const apiserver = await ensureKubeApiserver();
  const dir = opts.dir;
  const detached = opts.detached ?? false;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pki = await createPki(join(dir, 'pki'));
  const [etcdPort, peerPort, securePort] = [await freePort(), await freePort(), await freePort()];

  const etcdLog = join(dir, 'etcd.log');
  const etcd = launch(
    ETCD_BINARY,
    [
      '--name=paysync-test',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=paysync-test=http://127.0.0.1:${peerPort}`,
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-level=warn',
    ],
    etcdLog,
    detached,
  );
  const pids = { etcd: etcd.pid as number, apiserver: 0 };
  const server = `https://127.0.0.1:${securePort}`;
  const stopAll = async (keep = false) => {
    if (pids.apiserver) await stopProcess(pids.apiserver, 'kube-apiserver', 15_000);
    await stopProcess(pids.etcd, 'etcd', 10_000);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('etcd', etcdLog, pids.etcd, 30_000, () => etcdHealthy(etcdPort));
    const apiLog = join(dir, 'kube-apiserver.log');
    const child = launch(
      apiserver,
      [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        // The kubernetes Service's endpoints would be the loopback address: nothing to reconcile.
        '--endpoint-reconciler-type=none',
        `--secure-port=${securePort}`,
        `--tls-cert-file=${pki.certFile}`,
        `--tls-private-key-file=${pki.keyFile}`,
        `--cert-dir=${join(dir, 'certs')}`,
        `--token-auth-file=${pki.tokenFile}`,
        '--authorization-mode=RBAC',
        '--anonymous-auth=false',
        `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
        `--service-account-key-file=${pki.saPubFile}`,
        `--service-account-signing-key-file=${pki.saKeyFile}`,
        '--api-audiences=https://kubernetes.default.svc.cluster.local',
        '--service-cluster-ip-range=10.96.0.0/16',
        '--allow-privileged=false',
        '--profiling=false',
        '--v=1',
      ],
      apiLog,
      detached,
    );
    pids.apiserver = child.pid as number;
    await waitFor('kube-apiserver', apiLog, pids.apiserver, opts.readyTimeoutMs ?? 120_000, async () => {
      const r = await apiGet(server, '/readyz', pki.adminToken, pki.caPem);
      return r.status === 200;
    });
  } catch (err) {
    await stopAll(true).catch(() => {});
    throw err;
  }
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml(server, pki), { mode: 0o600 });
  return {
    server,
    version: KUBERNETES_VERSION,
    pki,
    token: pki.adminToken,
    caPem: pki.caPem,
    kubeconfigPath,
    dir,
    pids,
    stop: (o) => stopAll(o?.keep ?? false),
  };
}
