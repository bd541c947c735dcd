import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PATHS, rel } from './config.ts';
import { InfraError } from './errors.ts';
import { progress, seconds } from './log.ts';
import { cmdline, removeFile, run, runLogged, stopProcess } from './proc.ts';

/** Debian packages we need, each with a file that proves it is installed. */
export const DEBIAN_PACKAGES = {
  'mariadb-server': '/usr/sbin/mariadbd',
  'mariadb-client': '/usr/bin/mariadb',
  prometheus: '/usr/bin/promtool',
  'prometheus-alertmanager': '/usr/bin/amtool',
  'prometheus-pushgateway': '/usr/bin/prometheus-pushgateway',
  // etcd for the real kube-apiserver the chart and operator tests run against (scripts/k8s).
  'etcd-server': '/usr/bin/etcd',
  // On this kind of machine Java 17 and Maven come with the image; installed only if they are not.
  'openjdk-17-jdk-headless': '/usr/bin/java',
  maven: '/usr/bin/mvn',
  // The local Kafka's CA and broker certificate (scripts/infra/tls.ts).
  openssl: '/usr/bin/openssl',
} as const;

/** Daemons these packages ship (and mariadb's watchdog); their init scripts must not leave one running. */
const DISTRIBUTION_DAEMONS = [
  '/usr/bin/mysqld_safe',
  '/usr/sbin/mariadbd',
  '/usr/sbin/mysqld',
  '/usr/bin/prometheus',
  '/usr/bin/prometheus-alertmanager',
  '/usr/bin/prometheus-pushgateway',
  '/usr/bin/prometheus-node-exporter',
  '/usr/bin/etcd',
];

const POLICY_RC_D = '/usr/sbin/policy-rc.d';

/** Pids of distribution daemons (by program path, also as a script's interpreter argument), watchdog first. */
function daemonPids(): number[] {
  const found: { pid: number; rank: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = cmdline(Number(entry))?.split(' ').slice(0, 2) ?? [];
    const rank = DISTRIBUTION_DAEMONS.findIndex((d) => argv.includes(d));
    if (rank >= 0) found.push({ pid: Number(entry), rank });
  }
  return found.sort((a, b) => a.rank - b.rank).map((f) => f.pid);
}

export function missingPackages(): string[] {
  return Object.entries(DEBIAN_PACKAGES)
    .filter(([, file]) => !existsSync(file))
    .map(([name]) => name);
}

/**
 * Installs the missing packages with apt-get. Debian's maintainer scripts would start mariadb and the
 * Prometheus daemons: a policy-rc.d that answers 101 ("action forbidden") stops that, and any daemon
 * that still appeared during the install is stopped afterwards.
 */
export async function ensureDebianPackages(): Promise<void> {
  const missing = missingPackages();
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new InfraError(
      'NOT_ROOT',
      `Debian packages missing (${missing.join(', ')}); install them as root: apt-get install ${missing.join(' ')}`,
    );
  }
  const logFile = join(PATHS.logs, 'apt.log');
  const started = Date.now();
  const before = new Set(daemonPids());
  const ownPolicy = !existsSync(POLICY_RC_D);
  if (ownPolicy)
    writeFileSync(
      POLICY_RC_D,
      '#!/bin/sh\n# written by paysync scripts/infra.ts during apt-get install\nexit 101\n',
      { mode: 0o755 },
    );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'l' };
  try {
    progress(`apt-get update (log: ${rel(logFile)})…`);
    await runLogged('apt-get update', 'apt-get', ['-q', '-o', 'DPkg::Lock::Timeout=300', 'update'], logFile, {
      env,
    });
    progress(`apt-get install ${missing.join(' ')}…`);
    await runLogged(
      'apt-get install',
      'apt-get',
      [
        '-q',
        '-y',
        '--no-install-recommends',
        '-o',
        'DPkg::Lock::Timeout=300',
        '-o',
        'Dpkg::Options::=--force-confdef',
        '-o',
        'Dpkg::Options::=--force-confold',
        'install',
        ...missing,
      ],
      logFile,
      { env },
    );
  } finally {
    if (ownPolicy) removeFile(POLICY_RC_D);
  }
  for (const pid of daemonPids()) {
    if (before.has(pid)) continue;
    progress(`stopping ${cmdline(pid)?.split(' ')[0]} (pid ${pid}) that the package install started`);
    await stopProcess(pid, 'distribution daemon', 30_000);
  }
  const still = missingPackages();
  if (still.length > 0) {
    throw new InfraError(
      'APT_FAILED',
      `apt-get install finished but ${still.join(', ')} is still missing; log: ${rel(logFile)}`,
    );
  }
  progress(`Debian packages installed in ${seconds(Date.now() - started)}`);
}

/** Major Java version of `java` on PATH, or 0. */
export async function javaMajor(): Promise<number> {
  try {
    const r = await run('java', ['-version']);
    const m = /version "(\d+)(?:\.(\d+))?/.exec(r.stderr);
    if (!m) return 0;
    const major = Number(m[1]);
    return major === 1 ? Number(m[2]) : major;
  } catch {
    return 0;
  }
}
