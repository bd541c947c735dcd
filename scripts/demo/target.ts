// The stack the demo runs against: the one `npm start` is running, or — when none runs — one the
// demo starts itself (quietly, logs in .cache/run/stack/logs) and stops at the end.
import { join } from 'node:path';
import { loadStartEnv, STACK_DIR } from '../start/config.ts';
import { prepareLocalStack, recordLocalStack, runningLocalStack } from '../start/local.ts';
import { CombinedLog } from '../start/log.ts';
import { ALL_COMPONENTS, type Stack, startStack } from '../start/stack.ts';
import { readStackState, removeStackState, runningSupervisor } from '../start/state.ts';

export type DemoTarget = {
  own: boolean;
  /** The order service's order API. */
  ordersUrl: string;
  sandboxUrl: string;
  pushgatewayUrl: string | undefined;
  prometheusUrl: string | undefined;
  mysqlUrl: string;
  apiToken: string;
  sweepEveryMs: number;
  /** The stack's payctl wrapper (npm start writes it). */
  payctl: string;
  stop(): Promise<void>;
};

export function runningTarget(): DemoTarget {
  const s = runningLocalStack();
  return {
    own: false,
    ordersUrl: s.urls.orders as string,
    sandboxUrl: s.urls.sandbox as string,
    pushgatewayUrl: s.urls.pushgateway,
    prometheusUrl: s.urls.prometheus,
    mysqlUrl: s.mysqlUrl,
    apiToken: s.apiToken,
    sweepEveryMs: s.sweepEveryMs,
    payctl: s.files.payctl,
    stop: async () => {},
  };
}

/** The running stack, or a new one started here (then `stop()` stops it). */
export async function demoTarget(say: (line: string) => void): Promise<DemoTarget> {
  if (readStackState(STACK_DIR)) return runningTarget();
  if (runningSupervisor(STACK_DIR) !== undefined) {
    say('npm start is still starting: waiting until it is ready…');
    const deadline = Date.now() + 180_000;
    while (
      !readStackState(STACK_DIR) &&
      runningSupervisor(STACK_DIR) !== undefined &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (readStackState(STACK_DIR)) return runningTarget();
  }
  const env = loadStartEnv();
  const log = new CombinedLog({ console: 'off', dir: join(STACK_DIR, 'logs') });
  const ports = await prepareLocalStack(env, log);
  say('no `npm start` running here: starting the stack for the demo (logs in .cache/run/stack/logs/)…');
  const started = Date.now();
  let stack: Stack | undefined;
  const stop = async () => {
    await stack?.stop();
    removeStackState(STACK_DIR);
    await log.close();
  };
  try {
    stack = await startStack({
      dir: STACK_DIR,
      ports,
      mysqlUrl: env.MYSQL_URL,
      kafkaBrokers: env.KAFKA_BROKERS,
      components: ALL_COMPONENTS,
      timeScale: env.PAYSYNC_SANDBOX_TIME_SCALE,
      sweepEveryMs: env.PAYSYNC_SWEEP_EVERY,
      logLevel: env.PAYSYNC_LOG_LEVEL,
      log,
    });
    await stack.waitReady({ timeoutMs: 180_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  recordLocalStack(stack, env, started);
  say(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const s = runningLocalStack();
  return {
    own: true,
    ordersUrl: stack.urls.orders as string,
    sandboxUrl: stack.urls.sandbox as string,
    pushgatewayUrl: stack.urls.pushgateway,
    prometheusUrl: stack.urls.prometheus,
    mysqlUrl: env.MYSQL_URL,
    apiToken: s.apiToken,
    sweepEveryMs: env.PAYSYNC_SWEEP_EVERY,
    payctl: s.files.payctl,
    stop,
  };
}
