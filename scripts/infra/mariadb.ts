import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE, type Config, HOST, PATHS, rel } from './config.ts';
import { InfraError } from './errors.ts';
import { progress, tail } from './log.ts';
import { mysqlAnswers } from './net.ts';
import { run, runLogged, spawnDaemon, writePid } from './proc.ts';
import { assertPortsFree, awaitStart, runningPid, type Server, waitReady } from './server.ts';

// MariaDB runs as root (`--user=root`): the whole checkout, .cache included, belongs to root on
// these machines, so the data directory stays root-owned and nothing is chowned to `mysql`.

function socketPath(): string {
  const inCache = join(PATHS.run, 'mariadb.sock');
  // A unix socket path must fit in 108 bytes; a deep checkout gets a short one in /tmp instead.
  if (inCache.length < 100) return inCache;
  return `/tmp/paysync-mariadb-${createHash('sha256').update(CACHE).digest('hex').slice(0, 12)}.sock`;
}

export const MARIADB: Server = {
  name: 'mariadb',
  title: 'MariaDB',
  pidFile: join(PATHS.run, 'mariadb.pid'),
  logFile: join(PATHS.logs, 'mariadb.log'),
  marker: `--datadir=${PATHS.mariadbData} `,
  ports: (config) => [config.mysqlPort],
  stopGraceMs: 60_000,
};

const SOCKET = socketPath();

/** Creates the data directory once (into a temporary directory, renamed when complete). */
async function initialize(): Promise<void> {
  if (existsSync(join(PATHS.mariadbData, 'mysql'))) return;
  const tmp = `${PATHS.mariadbData}.init`;
  rmSync(tmp, { recursive: true, force: true });
  rmSync(PATHS.mariadbData, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  progress(`MariaDB: creating the data directory ${rel(PATHS.mariadbData)} (mariadb-install-db)…`);
  await runLogged(
    'mariadb-install-db',
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${tmp}`,
      '--user=root',
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
      '--skip-name-resolve',
    ],
    join(PATHS.logs, 'mariadb-install-db.log'),
  );
  renameSync(tmp, PATHS.mariadbData);
}

function serverArgs(config: Config): string[] {
  return [
    '--no-defaults',
    `--datadir=${PATHS.mariadbData}`,
    '--user=root',
    `--bind-address=${HOST}`,
    `--port=${config.mysqlPort}`,
    `--socket=${SOCKET}`,
    `--pid-file=${join(PATHS.run, 'mariadbd.pid')}`,
    '--skip-name-resolve',
    // durable: every commit is flushed to the redo log on disk
    '--innodb-flush-log-at-trx-commit=1',
    '--innodb-buffer-pool-size=256M',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_unicode_ci',
    '--default-time-zone=+00:00',
    '--max-connections=500',
  ];
}

/** `mariadb` as root over the unix socket (root authenticates with unix_socket). */
async function rootSql(sql: string): Promise<void> {
  const r = await run('mariadb', ['--no-defaults', `--socket=${SOCKET}`, '-uroot', '--batch'], {
    input: sql,
  });
  if (r.code !== 0)
    throw new InfraError('MARIADB_BOOTSTRAP', `MariaDB bootstrap SQL failed: ${r.stderr.trim()}`);
}

const BOOTSTRAP_SQL = `
CREATE DATABASE IF NOT EXISTS paysync CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'paysync'@'127.0.0.1' IDENTIFIED BY 'paysync';
CREATE USER IF NOT EXISTS 'paysync'@'localhost' IDENTIFIED BY 'paysync';
GRANT ALL PRIVILEGES ON *.* TO 'paysync'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'paysync'@'localhost' WITH GRANT OPTION;
`;

/** Proves the paysync user can log in over TCP, as the tests will. */
async function checkAppLogin(config: Config): Promise<void> {
  const r = await run('mariadb', [
    '--no-defaults',
    `--host=${HOST}`,
    `--port=${config.mysqlPort}`,
    '--protocol=TCP',
    '--user=paysync',
    '--password=paysync',
    '--batch',
    '--skip-column-names',
    '--execute=SELECT 1',
    'paysync',
  ]);
  if (r.code !== 0 || r.stdout.trim() !== '1') {
    throw new InfraError(
      'MARIADB_LOGIN',
      `MariaDB is up but user paysync cannot log in on ${HOST}:${config.mysqlPort}: ${r.stderr.trim()}`,
    );
  }
}

/** Starts MariaDB unless it already runs; returns its pid and whether this call started it. */
export async function upMariadb(config: Config): Promise<{ pid: number; started: boolean }> {
  const address = `${HOST}:${config.mysqlPort}`;
  let pid = runningPid(MARIADB);
  const started = pid === undefined;
  if (pid === undefined) {
    await initialize();
    await assertPortsFree(MARIADB, config);
    mkdirSync(PATHS.run, { recursive: true });
    progress(`MariaDB: starting on ${address}…`);
    pid = spawnDaemon('mariadbd', serverArgs(config), MARIADB.logFile);
    writePid(MARIADB.pidFile, pid);
  } else {
    progress(`MariaDB: already running (pid ${pid})`);
  }
  const serverPid = pid;
  await awaitStart(MARIADB, started, async () => {
    await waitReady(MARIADB, serverPid, address, () => mysqlAnswers(HOST, config.mysqlPort));
    try {
      await rootSql(BOOTSTRAP_SQL);
      await checkAppLogin(config);
    } catch (err) {
      if (!(err instanceof InfraError)) throw err;
      throw new InfraError(err.code, `${err.message}; log: ${rel(MARIADB.logFile)}`, tail(MARIADB.logFile));
    }
  });
  progress(`MariaDB: ready on ${address} (pid ${pid}), database paysync, user paysync`);
  return { pid, started };
}
