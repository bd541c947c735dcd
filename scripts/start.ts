// npm start: the whole paysync stack on this machine, supervised, with one combined log.
//
//   bash scripts/paysync.sh start    (what `npm start` runs: Node 24, dependencies, MariaDB and Kafka
//                                     first, then this file with MYSQL_URL and KAFKA_BROKERS set)
//
// Prints "paysync is ready" once every process answers its health check, then where everything is
// and what to try. Ctrl-C or SIGTERM stops every process it started (the servers `prepare` started
// are stopped by paysync.sh). Settings: docs/local-stack.md.
import { join } from 'node:path';
import { rel } from './infra/config.ts';
import { banner } from './start/banner.ts';
import { loadStartEnv, STACK_DIR } from './start/config.ts';
import { StackError } from './start/errors.ts';
import { prepareLocalStack, recordLocalStack } from './start/local.ts';
import { CombinedLog } from './start/log.ts';
import { ALL_COMPONENTS, type Stack, startStack } from './start/stack.ts';
import { killLeftovers, processesWithMarker, removeStackState } from './start/state.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`usage: npm start   (bash scripts/paysync.sh start)
The paysync stack on 127.0.0.1: sandbox, gateway, points-ledger, alerting, reconciler sweeps,
Prometheus, Alertmanager, Pushgateway. Settings (environment): PAYSYNC_PORT_BASE (28000),
PAYSYNC_SWEEP_EVERY (15s), PAYSYNC_SANDBOX_TIME_SCALE (0.01), PAYSYNC_LOG_LEVEL (info).
See docs/local-stack.md.`);
  process.exit(0);
}

// A terminal that goes away (its window closed, npm gone) must not stop the supervisor halfway
// through stopping its children: output that cannot be written is dropped (the files keep it).
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

const dir = STACK_DIR;
const log = new CombinedLog({
  console: 'info',
  dir: join(dir, 'logs'),
  quiet: ['prometheus', 'alertmanager', 'pushgateway'],
});
let stack: Stack | undefined;
let starting: Promise<Stack> | undefined;
let stopping: Promise<void> | undefined;
let signals = 0;

function fail(err: unknown): never {
  if (err instanceof StackError) {
    process.stderr.write(`\npaysync: ${err.message}\n${err.details ? `${err.details}\n` : ''}`);
  } else {
    process.stderr.write(`\npaysync: start failed: ${(err as Error).stack ?? String(err)}\n`);
  }
  process.exit(1);
}

async function shutdown(reason: string, code: number): Promise<void> {
  stopping ??= (async () => {
    log.note('supervisor', `${reason}: stopping every process…`);
    const started = Date.now();
    try {
      // A signal during start-up waits for the start to settle, so nothing it spawned is missed.
      const s = stack ?? (await starting?.catch(() => undefined));
      await s?.stop();
      killLeftovers(dir);
    } finally {
      removeStackState(dir);
    }
    const left = processesWithMarker(dir);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (left.length === 0) log.note('supervisor', `stopped in ${seconds}s; no process of the stack is left`);
    else
      log.note(
        'supervisor',
        `stopped in ${seconds}s, but these are still alive: ${left.join(', ')}`,
        'error',
      );
    await log.close();
    process.exit(left.length === 0 ? code : 1);
  })().catch((err) => fail(err));
  return stopping;
}

let firstSignalAt = 0;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    // One Ctrl-C can arrive twice: from the terminal and passed on by paysync.sh.
    if (signals > 0 && Date.now() - firstSignalAt < 1000) return;
    if (signals === 0) firstSignalAt = Date.now();
    signals += 1;
    if (signals === 1) void shutdown(`${signal} received`, 0);
    else if (signals === 2)
      log.note(
        'supervisor',
        'still stopping (processes get 15 s each); once more to kill them at once',
        'warn',
      );
    else {
      killLeftovers(dir);
      process.exit(1);
    }
  });
}

async function main(): Promise<void> {
  const env = loadStartEnv();
  const ports = await prepareLocalStack(env, log);
  const started = Date.now();
  log.note('supervisor', `starting paysync (raw logs in ${rel(join(dir, 'logs'))}/)…`);
  starting = startStack({
    dir,
    ports,
    mysqlUrl: env.MYSQL_URL,
    kafkaBrokers: env.KAFKA_BROKERS,
    components: ALL_COMPONENTS,
    timeScale: env.PAYSYNC_SANDBOX_TIME_SCALE,
    sweepEveryMs: env.PAYSYNC_SWEEP_EVERY,
    logLevel: env.PAYSYNC_LOG_LEVEL,
    log,
  });
  stack = await starting;
  if (stopping) return;
  await stack.waitReady({
    onWaiting: (pending) => log.note('supervisor', `waiting for: ${pending.join(', ')}`),
  });
  if (stopping) return;
  const state = recordLocalStack(stack, env, started);
  log.block('paysync', banner(stack, state, (Date.now() - started) / 1000));
  watchRestarts(stack);
}

/** After a restart, says when the process answers its health check again. */
function watchRestarts(s: Stack): void {
  const seen = new Map(s.processes.map((p) => [p.name, p.restarts]));
  const waiting = new Set<string>();
  setInterval(async () => {
    for (const p of s.processes) {
      if (p.restarts !== seen.get(p.name)) {
        seen.set(p.name, p.restarts);
        waiting.add(p.name);
      }
      if (waiting.has(p.name) && (await p.healthy())) {
        waiting.delete(p.name);
        log.note(p.name, `ready again after restart ${p.restarts}`);
      }
    }
  }, 2000).unref();
}

main().catch(async (err) => {
  if (stopping) return; // the shutdown in progress exits
  if (stack) {
    await stack.stop().catch(() => {});
    removeStackState(dir);
  }
  fail(err);
});
