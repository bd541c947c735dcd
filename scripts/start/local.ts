// The one local stack of this checkout (`.cache/run/stack`, fixed ports): getting its directory
// ready for a new start, and recording it once it is ready.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Ports, portsFrom, STACK_DIR, type StartEnv } from './config.ts';
import { StackError } from './errors.ts';
import type { CombinedLog } from './log.ts';
import { assertPortsFree } from './ports.ts';
import type { Stack } from './stack.ts';
import {
  claimStackDir,
  killLeftovers,
  readStackState,
  runningSupervisor,
  type StackState,
  writeOperatorTools,
  writeStackState,
} from './state.ts';

/** Refuses when a stack runs here already; cleans what a crashed one left; checks the ports. */
export async function prepareLocalStack(env: StartEnv, log: CombinedLog): Promise<Ports> {
  const other = runningSupervisor(STACK_DIR);
  if (other !== undefined) {
    const state = readStackState(STACK_DIR);
    throw new StackError(
      'ALREADY_RUNNING',
      `paysync is already running here (supervisor pid ${other})${state ? `: order API ${state.urls.orders}` : ''}`,
      '  Stop it with Ctrl-C in its terminal (or `kill <pid>`); `npm run demo` runs against it as it is.',
    );
  }
  const left = killLeftovers(STACK_DIR);
  rmSync(STACK_DIR, { recursive: true, force: true });
  mkdirSync(join(STACK_DIR, 'logs'), { recursive: true });
  claimStackDir(STACK_DIR);
  if (left.length > 0)
    log.note('supervisor', `killed ${left.length} process(es) an earlier run left behind`, 'warn');
  const ports = portsFrom(env.PAYSYNC_PORT_BASE);
  await assertPortsFree(ports);
  return ports;
}

/** Writes `stack.json`, `paysync.env` and the `payctl` wrapper for a stack that is ready. */
export function recordLocalStack(stack: Stack, env: StartEnv, startedAt: number): StackState {
  const tools = writeOperatorTools(STACK_DIR, stack.operatorEnv);
  const state: StackState = {
    supervisorPid: process.pid,
    startedAt: new Date(startedAt).toISOString(),
    mysqlUrl: env.MYSQL_URL,
    kafkaBrokers: env.KAFKA_BROKERS,
    topicPrefix: null,
    notifyUrl: stack.notifyUrl,
    urls: stack.urls,
    files: {
      apiToken: stack.secrets.files.apiToken,
      env: tools.env,
      payctl: tools.payctl,
      logs: join(STACK_DIR, 'logs'),
    },
    merchant: { mchid: stack.secrets.merchant.mchid, appid: stack.secrets.merchant.appid },
    sweepEveryMs: env.PAYSYNC_SWEEP_EVERY,
  };
  writeStackState(STACK_DIR, state);
  return state;
}

/** The running local stack, as the demo and the shortcuts see it; throws when none runs. */
export function runningLocalStack(): StackState & { apiToken: string } {
  const state = readStackState(STACK_DIR);
  if (!state) {
    throw new StackError(
      'NOT_RUNNING',
      'paysync is not running here: start it with `npm start` (in another terminal)',
    );
  }
  return { ...state, apiToken: readFileSync(state.files.apiToken, 'utf8').trim() };
}
