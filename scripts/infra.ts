// Local infrastructure for paysync's tests and local stack: MariaDB and a single-node Kafka (KRaft)
// as processes under .cache/, plus the Prometheus tools, helm and kubeconform on .cache/bin.
//
//   node scripts/infra.ts up                 install what is missing, start both servers, create topics
//   node scripts/infra.ts down [server…]     stop what `up` started (all servers by default)
//   node scripts/infra.ts status [--json]    one line per server: name, address, pid, state
//   node scripts/infra.ts env [--json]       MYSQL_URL, KAFKA_BROKERS (and PAYSYNC_KAFKA_SASL_BROKERS, the
//                                           SCRAM listener with ACLs; PAYSYNC_KAFKA_SSL_BROKERS and
//                                           PAYSYNC_KAFKA_SSL_CA_FILE, the same over TLS) for the local servers
//   node scripts/infra.ts tools              only the tools (Debian packages, helm, kubeconform)
//   node scripts/infra.ts leftovers [server…]  exit 1 if a process of ours is still running
//
// Node built-ins only (it runs before `npm ci`), except topic creation, which loads kafkajs.
import { existsSync } from 'node:fs';
import { ensureDebianPackages } from './infra/apt.ts';
import { CACHE, type Config, connectionEnv, loadConfig, PATHS, rel } from './infra/config.ts';
import { InfraError } from './infra/errors.ts';
import { ensureKafkaJars, KAFKA, upKafka } from './infra/kafka.ts';
import { withLock } from './infra/lock.ts';
import { progress, seconds } from './infra/log.ts';
import { MARIADB, upMariadb } from './infra/mariadb.ts';
import { findProcesses } from './infra/proc.ts';
import { type Server, status, stopServer } from './infra/server.ts';
import { ensureGoTools, linkDebianTools } from './infra/tools.ts';
import { ensureTopics } from './infra/topics.ts';

const SERVERS: Server[] = [MARIADB, KAFKA];

function pickServers(names: string[]): Server[] {
  if (names.length === 0) return SERVERS;
  return names.map((n) => {
    const s = SERVERS.find((x) => x.name === n);
    if (!s)
      throw new InfraError(
        'USAGE',
        `unknown server "${n}" (known: ${SERVERS.map((x) => x.name).join(', ')})`,
      );
    return s;
  });
}

/** Runs every task to the end, then fails with all distinct errors (not just the first). */
async function settleAll(tasks: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const errors = [...new Set(results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : [])))];
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    const lines = errors.map((e) =>
      e instanceof InfraError ? `${e.message}${e.details ? `\n${e.details}` : ''}` : String(e),
    );
    throw new InfraError('UP_FAILED', `${errors.length} steps failed`, lines.join('\n'));
  }
}

function ensureTools(aptDone: Promise<void>): Promise<void> {
  const debian = aptDone.then(linkDebianTools);
  return settleAll([debian, ensureGoTools()]);
}

async function up(config: Config): Promise<void> {
  const started = Date.now();
  await withLock(PATHS.lock, async () => {
    const apt = ensureDebianPackages();
    // The Maven download needs no Debian package when mvn and java are already there.
    const jars =
      existsSync('/usr/bin/mvn') && existsSync('/usr/bin/java')
        ? ensureKafkaJars()
        : apt.then(ensureKafkaJars);
    const mariadb = apt.then(() => upMariadb(config));
    const kafka = Promise.all([apt, jars]).then(async ([, libs]) => {
      await upKafka(config, libs);
      await ensureTopics(config);
    });
    await settleAll([apt, jars, mariadb, kafka, ensureTools(apt)]);
  });
  progress(`up: done in ${seconds(Date.now() - started)}; tools in ${rel(PATHS.bin)}`);
  printStatus(config);
}

async function tools(): Promise<void> {
  await withLock(PATHS.lock, () => ensureTools(ensureDebianPackages()));
}

async function down(config: Config, names: string[]): Promise<void> {
  const servers = pickServers(names);
  await withLock(PATHS.lock, async () => {
    // Stopped one after the other: Kafka's controlled shutdown and MariaDB's flush both want the CPU.
    for (const server of [...servers].reverse()) {
      const stopped = await stopServer(server);
      progress(`${server.title}: ${stopped ? 'stopped' : 'was not running'}`);
    }
  });
  leftovers(servers);
  printStatus(config, servers);
}

/** Fails loudly when a process carrying one of our servers' markers is still alive. */
function leftovers(servers: Server[]): void {
  const left = servers.flatMap((s) =>
    findProcesses(s.marker).map((p) => `  ${s.name} pid ${p.pid}: ${p.cmd.slice(0, 160)}`),
  );
  if (left.length > 0) {
    throw new InfraError(
      'LEFTOVERS',
      `${left.length} process(es) of ours are still running`,
      left.join('\n'),
    );
  }
}

function printStatus(config: Config, servers = SERVERS): void {
  for (const s of servers.map((x) => status(x, config))) {
    process.stdout.write(
      `${s.name.padEnd(8)} ${s.address.padEnd(16)} pid ${String(s.pid ?? '-').padEnd(8)} ${s.state}\n`,
    );
  }
}

function usage(): never {
  throw new InfraError(
    'USAGE',
    'usage: node scripts/infra.ts <up|down [server…]|status [--json]|env [--json]|tools|leftovers [server…]>',
  );
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  const config = loadConfig();
  switch (command) {
    case 'up':
      return up(config);
    case 'down':
      return down(config, rest);
    case 'status':
      if (json) process.stdout.write(`${JSON.stringify(SERVERS.map((s) => status(s, config)))}\n`);
      else printStatus(config);
      return;
    case 'env': {
      const env = connectionEnv(config);
      if (json) process.stdout.write(`${JSON.stringify(env)}\n`);
      else for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${v}\n`);
      return;
    }
    case 'tools':
      return tools();
    case 'leftovers':
      leftovers(pickServers(rest));
      return;
    default:
      usage();
  }
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof InfraError) {
    process.stderr.write(`infra: ${err.message}\n`);
    if (err.details) process.stderr.write(`${err.details}\n`);
    process.exitCode = err.code === 'USAGE' ? 2 : 1;
  } else {
    process.stderr.write(
      `infra: unexpected failure (cache ${CACHE}): ${(err as Error).stack ?? String(err)}\n`,
    );
    process.exitCode = 1;
  }
}
