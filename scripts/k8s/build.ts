// Builds kube-apiserver from the Kubernetes Go module at a pinned version into .cache/bin.
//
// k8s.io/kubernetes is not meant to be required as a library: its go.mod points every k8s.io/*
// staging module at ./staging/src/…, which the module zip does not contain. A tiny module under
// .cache/k8s/build requires k8s.io/kubernetes at the pinned version and replaces each staging module
// with its published v0.Y.Z twin (the same code, released from the same commit). The binary carries
// the version in its build info and /version; a stamp next to it records what it was built from.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CACHE, PATHS, rel } from '../infra/config.ts';
import { InfraError } from '../infra/errors.ts';
import { withLock } from '../infra/lock.ts';
import { progress, seconds } from '../infra/log.ts';
import { run, runLogged } from '../infra/proc.ts';

/** The Kubernetes release the harness, the vendored JSON schemas and the chart's kubeVersion follow. */
export const KUBERNETES_VERSION = 'v1.37.2';

/**
 * k8s.io/kubernetes' staging modules (its go.mod's replace block), published as v0.<minor>.<patch>.
 * sample-cli-plugin and sample-controller are left out: kubernetes does not require them.
 */
export const STAGING_MODULES = [
  'api',
  'apiextensions-apiserver',
  'apimachinery',
  'apiserver',
  'cli-runtime',
  'client-go',
  'cloud-provider',
  'cluster-bootstrap',
  'code-generator',
  'component-base',
  'component-helpers',
  'controller-manager',
  'cri-api',
  'cri-client',
  'cri-streaming',
  'csi-translation-lib',
  'dynamic-resource-allocation',
  'endpointslice',
  'externaljwt',
  'kms',
  'kube-aggregator',
  'kube-controller-manager',
  'kube-proxy',
  'kube-scheduler',
  'kubectl',
  'kubelet',
  'metrics',
  'mount-utils',
  'pod-security-admission',
  'sample-apiserver',
  'streaming',
] as const;

export const K8S_PATHS = {
  binary: join(PATHS.bin, 'kube-apiserver'),
  stamp: join(PATHS.bin, 'kube-apiserver.version'),
  buildDir: join(CACHE, 'k8s', 'build'),
  log: join(PATHS.logs, 'build-kube-apiserver.log'),
  lock: join(CACHE, 'run', 'kube-apiserver-build.lock'),
} as const;

/**
 * A copy kept outside the checkout (PAYSYNC_MACHINE_CACHE, default ~/.cache/paysync), so that a fresh
 * clone on the same machine (CI runs in one) does not rebuild: keyed by version, checked with
 * --version before use.
 */
export function machineCachePath(version = KUBERNETES_VERSION): string {
  const base = process.env.PAYSYNC_MACHINE_CACHE || join(homedir(), '.cache', 'paysync');
  return join(base, `kube-apiserver-${version}`);
}

function stagingVersion(version: string): string {
  const m = /^v1\.(\d+)\.(\d+)$/.exec(version);
  if (!m) throw new InfraError('BAD_VERSION', `unexpected Kubernetes version ${version}`);
  return `v0.${m[1]}.${m[2]}`;
}

/** The go.mod of the build module (exported for the test that keeps it in step with kubernetes'). */
export function buildGoMod(version = KUBERNETES_VERSION): string {
  const staging = stagingVersion(version);
  const replaces = STAGING_MODULES.map((m) => `\tk8s.io/${m} => k8s.io/${m} ${staging}`).join('\n');
  return `module paysync.local/kube-apiserver

go 1.26.0

godebug default=go1.26

require k8s.io/kubernetes ${version}

replace (
${replaces}
)
`;
}

/** -X flags that make /version report the release (as the Kubernetes release build does). */
function versionLdflags(version: string): string {
  const [, minor] = /^v1\.(\d+)\./.exec(version) ?? [];
  const flags = ['-s', '-w'];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    flags.push(
      `-X ${pkg}.gitVersion=${version}`,
      `-X ${pkg}.gitMajor=1`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
      `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
    );
  }
  return flags.join(' ');
}

function goBinary(): string {
  const candidates = [
    ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'go')),
    '/usr/local/go/bin/go',
    '/usr/lib/go/bin/go',
  ];
  const go = candidates.find((p) => existsSync(p));
  if (!go) throw new InfraError('NO_GO', 'kube-apiserver is built with go, but no go toolchain was found');
  return go;
}

function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOPATH: PATHS.go,
    GOMODCACHE: join(PATHS.go, 'pkg', 'mod'),
    GOCACHE: join(PATHS.go, 'build-cache'),
    GOFLAGS: '-mod=mod -modcacherw -buildvcs=false',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
  };
}

/** The version the cached binary was built at, when its stamp and the binary agree. */
export function builtKubeApiserverVersion(): string | undefined {
  if (!existsSync(K8S_PATHS.binary) || !existsSync(K8S_PATHS.stamp)) return undefined;
  return readFileSync(K8S_PATHS.stamp, 'utf8').trim() || undefined;
}

/**
 * Builds kube-apiserver unless .cache/bin holds one at `version`. A cold build (modules and compile
 * cache empty) takes many minutes on two cores; see scripts/k8s/README.md for the measured numbers.
 */
export async function ensureKubeApiserver(version = KUBERNETES_VERSION): Promise<string> {
  if (builtKubeApiserverVersion() === version) return K8S_PATHS.binary;
  // Test files start clusters in parallel: one builds, the others wait for it.
  return withLock(K8S_PATHS.lock, () => buildKubeApiserver(version), 90 * 60_000);
}

async function buildKubeApiserver(version: string): Promise<string> {
  if (builtKubeApiserverVersion() === version) return K8S_PATHS.binary;
  if (await adoptMachineCopy(version)) return K8S_PATHS.binary;
  const go = goBinary();
  const started = Date.now();
  mkdirSync(K8S_PATHS.buildDir, { recursive: true });
  writeFileSync(join(K8S_PATHS.buildDir, 'go.mod'), buildGoMod(version));
  rmSync(join(K8S_PATHS.buildDir, 'go.sum'), { force: true });
  mkdirSync(PATHS.bin, { recursive: true });
  progress(
    `k8s: building kube-apiserver ${version} from k8s.io/kubernetes (a cold build takes a long time; log: ${rel(K8S_PATHS.log)})…`,
  );
  rmSync(K8S_PATHS.stamp, { force: true });
  const tmp = `${K8S_PATHS.binary}.tmp`;
  await runLogged(
    `go build kube-apiserver ${version}`,
    go,
    [
      'build',
      '-trimpath',
      `-ldflags=${versionLdflags(version)}`,
      '-o',
      tmp,
      'k8s.io/kubernetes/cmd/kube-apiserver',
    ],
    K8S_PATHS.log,
    { env: goEnv(), cwd: K8S_PATHS.buildDir },
    60_000,
  );
  const check = await run(tmp, ['--version']);
  if (!check.stdout.includes(version)) {
    throw new InfraError(
      'K8S_BUILD',
      `built kube-apiserver reports "${check.stdout.trim()}", want ${version}`,
    );
  }
  renameSync(tmp, K8S_PATHS.binary);
  writeFileSync(K8S_PATHS.stamp, `${version}\n`);
  try {
    mkdirSync(join(machineCachePath(version), '..'), { recursive: true });
    copyFileSync(K8S_PATHS.binary, `${machineCachePath(version)}.tmp`);
    renameSync(`${machineCachePath(version)}.tmp`, machineCachePath(version));
  } catch {
    // Only a speed-up for the next clone.
  }
  progress(`k8s: kube-apiserver ${version} built in ${seconds(Date.now() - started)}`);
  return K8S_PATHS.binary;
}

/** Takes the machine-wide copy when it reports the right version. */
async function adoptMachineCopy(version: string): Promise<boolean> {
  const copy = machineCachePath(version);
  if (!existsSync(copy)) return false;
  const check = await run(copy, ['--version']).catch(() => undefined);
  if (!check?.stdout.includes(version)) return false;
  mkdirSync(PATHS.bin, { recursive: true });
  copyFileSync(copy, `${K8S_PATHS.binary}.tmp`);
  renameSync(`${K8S_PATHS.binary}.tmp`, K8S_PATHS.binary);
  writeFileSync(K8S_PATHS.stamp, `${version}\n`);
  progress(`k8s: kube-apiserver ${version} taken from ${copy}`);
  return true;
}
