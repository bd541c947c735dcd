import { existsSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PATHS, rel } from './config.ts';
import { InfraError } from './errors.ts';
import { progress, seconds } from './log.ts';
import { run, runLogged } from './proc.ts';

/** Binaries from Debian's Prometheus packages, linked into .cache/bin under these names. */
const DEBIAN_BINARIES: Record<string, string> = {
  promtool: '/usr/bin/promtool',
  prometheus: '/usr/bin/prometheus',
  amtool: '/usr/bin/amtool',
  alertmanager: '/usr/bin/prometheus-alertmanager',
  'prometheus-pushgateway': '/usr/bin/prometheus-pushgateway',
};

export function linkDebianTools(): void {
  mkdirSync(PATHS.bin, { recursive: true });
  for (const [name, target] of Object.entries(DEBIAN_BINARIES)) {
    if (!existsSync(target))
      throw new InfraError('TOOL_MISSING', `${target} is missing (Debian package not installed?)`);
    const link = join(PATHS.bin, name);
    const current = lstatSync(link, { throwIfNoEntry: false });
    if (current?.isSymbolicLink() && readlinkSync(link) === target) continue;
    if (current) rmSync(link, { force: true });
    symlinkSync(target, link);
  }
}

/** Go tools built from pinned module versions with `go install`. */
export const GO_TOOLS = [
  {
    name: 'kubeconform',
    module: 'github.com/yannh/kubeconform',
    pkg: 'github.com/yannh/kubeconform/cmd/kubeconform',
    version: 'v0.8.0',
    ldflags: (v: string) => `-s -w -X main.version=${v}`,
  },
  {
    name: 'helm',
    module: 'helm.sh/helm/v3',
    pkg: 'helm.sh/helm/v3/cmd/helm',
    version: 'v3.22.0',
    ldflags: (v: string) =>
      `-s -w -X helm.sh/helm/v3/internal/version.version=${v} -X helm.sh/helm/v3/internal/version.gitTreeState=clean`,
  },
] as const;

function goBinary(): string {
  const onPath = (process.env.PATH ?? '')
    .split(':')
    .map((d) => join(d, 'go'))
    .find((p) => existsSync(p));
  const go = onPath ?? ['/usr/local/go/bin/go', '/usr/lib/go/bin/go'].find((p) => existsSync(p));
  if (!go)
    throw new InfraError(
      'NO_GO',
      'helm and kubeconform are built with `go install`, but no go toolchain was found (PATH, /usr/local/go/bin)',
    );
  return go;
}

function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOBIN: PATHS.bin,
    GOPATH: PATHS.go,
    GOMODCACHE: join(PATHS.go, 'pkg', 'mod'),
    GOCACHE: join(PATHS.go, 'build-cache'),
    GOFLAGS: '-mod=mod -modcacherw -buildvcs=false',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
  };
}

/** The module version a Go binary was built from (from its embedded build info), or undefined. */
async function builtVersion(go: string, binary: string, module: string): Promise<string | undefined> {
  if (!existsSync(binary)) return undefined;
  const r = await run(go, ['version', '-m', binary], { env: goEnv() });
  const line = r.stdout.split('\n').find((l) => l.trim().startsWith('mod\t') && l.includes(`\t${module}\t`));
  return line?.trim().split('\t')[2];
}

/** Builds each Go tool that is missing or at another version; a no-op when all are current. */
export async function ensureGoTools(): Promise<void> {
  const go = goBinary();
  for (const tool of GO_TOOLS) {
    const binary = join(PATHS.bin, tool.name);
    if ((await builtVersion(go, binary, tool.module)) === tool.version) continue;
    const logFile = join(PATHS.logs, `go-install-${tool.name}.log`);
    const started = Date.now();
    progress(
      `tools: building ${tool.name} ${tool.version} with go install (minutes on a cold cache; log: ${rel(logFile)})…`,
    );
    await runLogged(
      `go install ${tool.name}`,
      go,
      ['install', '-trimpath', `-ldflags=${tool.ldflags(tool.version)}`, `${tool.pkg}@${tool.version}`],
      logFile,
      { env: goEnv() },
    );
    const got = await builtVersion(go, binary, tool.module);
    if (got !== tool.version) {
      throw new InfraError(
        'GO_TOOL',
        `${tool.name}: go install finished but ${rel(binary)} reports ${got ?? 'no version'}, want ${tool.version}`,
      );
    }
    progress(`tools: ${tool.name} ${tool.version} built in ${seconds(Date.now() - started)}`);
  }
}
