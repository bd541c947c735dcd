// The service kernel: the one place that reads configuration, serves the ops endpoints, reacts to
// SIGTERM/SIGINT and picks the exit code. Each service's main.ts gives it the wiring and nothing else.
import { ConfigError } from '@paysync/config';
import type { DestinationStream, Logger } from 'pino';
import type { Registry } from 'prom-client';
import { describeError } from './errors.ts';
import { createLogger, drainLogs, stdoutDestination } from './logger.ts';
import { type OpsServer, type ReadinessCheck, startOpsServer } from './ops-server.ts';
import { createShutdown, type ShutdownStep } from './shutdown.ts';

/**
 * Every paysync process exits with one of these (Kubernetes shows it as the container's exit code).
 * A one-shot run (the reconciler's sweep and bill) also exits 0 when it did its work and 1 when it
 * could not.
 */
export const EXIT_CODES = {
  /** Stopped on SIGTERM/SIGINT after every stop step finished; a one-shot run that succeeded. */
  ok: 0,
  /** Something failed unexpectedly: a crash, a failed start or stop step, a failed one-shot run. */
  failed: 1,
  /** Bad configuration: stderr names each variable at fault (never its value). */
  badConfiguration: 2,
  /** A start-up check refused to start: a notify URL WeChat Pay cannot reach, a non-durable topic. */
  startRefused: 3,
  /** The stop steps did not finish within the stop deadline. */
  stopDeadline: 4,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** A class of error (matched with `instanceof`). */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** What every service configuration carries: its log level and the warnings found while loading it. */
export type KernelConfig = {
  LOG_LEVEL?: string;
  /** Where the ops endpoints listen unless the service says otherwise. */
  METRICS_HOST?: string;
  METRICS_PORT?: number;
  warnings?: readonly { variable: string; message: string }[];
};

type Common<C extends KernelConfig> = {
  /** The `service` field of every log line; also `<name> ready` and the stderr prefix. */
  name: string;
  /** Reads the environment. A `ConfigError` (or one of `configErrors`) exits 2. */
  loadConfig: (env: NodeJS.ProcessEnv) => C;
  /** More error classes that mean bad configuration (a routes file, for example). */
  configErrors?: readonly ErrorClass[];
};

export type ServiceContext = {
  logger: Logger;
  /** Something the service runs died (a consumer crashed): run the stop steps, then exit 1. */
  crash(reason: string, err?: unknown): void;
};

export type BuiltService = {
  /** Served on `/metrics`. */
  registry: Registry;
  /** What `/readyz` checks, and where the ops endpoints listen (default METRICS_HOST, METRICS_PORT). */
  ops: { host?: string; port?: number; checks?: readonly ReadinessCheck[] };
  /** Connects and starts serving. An error listed in `refusals` exits 3, any other 1. */
  start(): Promise<void>;
  /**
   * Run in this order on SIGTERM/SIGINT, a crash or a failed start, after `/readyz` turned 503 and
   * before the ops server closes and the logs are flushed: stop intake, drain, close connections.
   */
  stop: readonly ShutdownStep[];
  /** Fields of the `<name> ready` log line. */
  ready?: () => Record<string, unknown>;
};

/**
 * `S`: what `build` returns, when a service shows more of itself than the kernel needs (a test
 * reads a running service's parts through `RunningService.service`).
 */
export type ServiceDefinition<C extends KernelConfig, S extends BuiltService = BuiltService> = Common<C> & {
  /** Creates the service's parts; nothing connects yet. `refusals` thrown here exit 3. */
  build(config: C, ctx: ServiceContext): S | Promise<S>;
  /** Start-up checks' errors: each exits 3 with its message on stderr. */
  refusals?: readonly ErrorClass[];
  /** The stop steps must finish within this time, else the process exits 4 (default 20 s). */
  stopDeadlineMs?: (config: C) => number;
};

export type RunningService<C, S extends BuiltService = BuiltService> = {
  config: C;
  logger: Logger;
  service: S;
  opsUrl: string;
  /** Runs the stop steps once (later calls share it) and resolves to the exit code. */
  stop(reason: string): Promise<ExitCode>;
  /** Resolves to the exit code once the service stopped, whoever stopped it. */
  stopped: Promise<ExitCode>;
};

export type StartOptions = {
  env?: NodeJS.ProcessEnv;
  /** Aborting it stops the service (its reason is logged), even while it is still starting. */
  signal?: AbortSignal;
  /** Log an uncaught error or unhandled rejection once and stop with exit 1 (a real process). */
  catchUncaught?: boolean;
  /** Called once the service stopped, with its exit code (even if it was stopped while starting). */
  onStopped?: (code: ExitCode) => void;
  /** Where log lines go (default stdout). */
  destination?: DestinationStream;
};

export const DEFAULT_STOP_DEADLINE_MS = 20_000;

/** Thrown by `startService` when the service did not start; `exitCode` says why. */
export class ServiceStartError extends Error {
  readonly exitCode: ExitCode;
  constructor(name: string, exitCode: ExitCode, cause: unknown) {
    super(`${name} did not start`, { cause });
    this.name = 'ServiceStartError';
    this.exitCode = exitCode;
  }
}

const isOneOf = (err: unknown, classes: readonly ErrorClass[] | undefined) =>
  (classes ?? []).some((c) => err instanceof c);

function isConfigError(err: unknown, def: Common<KernelConfig>): err is Error {
  return err instanceof ConfigError || isOneOf(err, def.configErrors);
}

function flush(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    logger.flush(() => resolve());
    setTimeout(resolve, 1000).unref();
  });
}

function loggerFor(def: Common<KernelConfig>, config: KernelConfig, destination?: DestinationStream) {
  const logger = createLogger({
    service: def.name,
    level: config.LOG_LEVEL,
    ...(destination ? { destination } : {}),
  });
  for (const w of config.warnings ?? []) logger.warn({ variable: w.variable }, `${w.variable}: ${w.message}`);
  return logger;
}

/**
 * Reads the configuration, builds the service, serves the ops endpoints and starts it. Throws the
 * configuration error as is (nothing was built), or a `ServiceStartError` after the stop steps ran.
 * Tests use this to run a service in their own process; `runService` wraps it for a real one.
 */
export async function startService<C extends KernelConfig, S extends BuiltService = BuiltService>(
  def: ServiceDefinition<C, S>,
  opts: StartOptions = {},
): Promise<RunningService<C, S>> {
  const config = def.loadConfig(opts.env ?? process.env);
  const logger = loggerFor(def, config, opts.destination);
  const deadlineMs = def.stopDeadlineMs?.(config) ?? DEFAULT_STOP_DEADLINE_MS;
  // Steps get the whole deadline: the deadline, not a step's own timer, decides a hung stop.
  const shutdown = createShutdown(logger, { stepTimeoutMs: deadlineMs });
  let resolveStopped!: (code: ExitCode) => void;
  const stopped = new Promise<ExitCode>((resolve) => {
    resolveStopped = resolve;
  });
  let stopping: Promise<ExitCode> | undefined;
  const stop = (reason: string, failure?: ExitCode): Promise<ExitCode> => {
    stopping ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), deadlineMs);
      });
      const outcome = await Promise.race([shutdown.run(reason), deadline]);
      clearTimeout(timer);
      let code: ExitCode;
      if (outcome === 'deadline') {
        logger.error({ deadlineMs }, 'stop deadline exceeded: exiting without waiting for the rest');
        code = EXIT_CODES.stopDeadline;
      } else code = failure ?? (outcome === 0 ? EXIT_CODES.ok : EXIT_CODES.failed);
      logger.info({ code }, `${def.name} stopped`);
      await flush(logger);
      resolveStopped(code);
      opts.onStopped?.(code);
      return code;
    })();
    return stopping;
  };
  const ctx: ServiceContext = {
    logger,
    crash: (reason, err) => {
      logger.error(err === undefined ? {} : { error: describeError(err) }, `${def.name}: ${reason}`);
      void stop(reason, EXIT_CODES.failed);
    },
  };
  if (opts.catchUncaught) {
    process.on('uncaughtException', (err) => ctx.crash('uncaught error', err));
    process.on('unhandledRejection', (err) => ctx.crash('unhandled rejection', err));
  }

  let service: S;
  let ops: OpsServer;
  try {
    service = await def.build(config, ctx);
    ops = await startOpsServer({
      registry: service.registry,
      logger,
      host: config.METRICS_HOST,
      port: config.METRICS_PORT,
      ...service.ops,
    });
  } catch (err) {
    throw await failedStart(def, logger, err);
  }
  shutdown.add({ name: 'mark not ready', run: async () => ops.markShuttingDown() });
  for (const step of service.stop) shutdown.add(step);
  shutdown.add({ name: 'close ops server', run: () => ops.close() });
  shutdown.add({ name: 'flush logs', run: () => flush(logger) });

  const onAbort = () => void stop(String(opts.signal?.reason ?? 'aborted'));
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  const running: RunningService<C, S> = {
    config,
    logger,
    service,
    opsUrl: ops.url,
    stop: (reason) => stop(reason),
    stopped,
  };
  try {
    await service.start();
  } catch (err) {
    // Stopped while starting (SIGTERM during a slow connect): the stop's outcome is the exit code.
    if (stopping) throw new ServiceStartError(def.name, await stopping, err);
    const failure = await failedStart(def, logger, err);
    await stop('start-up failed', failure.exitCode);
    throw failure;
  }
  if (stopping) return running;
  logger.info({ ops: ops.url, ...service.ready?.() }, `${def.name} ready`);
  return running;
}

async function failedStart(
  def: Pick<ServiceDefinition<KernelConfig>, 'name' | 'refusals'>,
  logger: Logger,
  err: unknown,
): Promise<ServiceStartError> {
  const refused = isOneOf(err, def.refusals);
  logger.fatal({ error: describeError(err) }, `${def.name} could not start`);
  // A refusal's message says what to fix: it goes to stderr too, where `kubectl logs` shows it plain.
  if (refused) console.error((err as Error).message);
  await flush(logger);
  return new ServiceStartError(def.name, refused ? EXIT_CODES.startRefused : EXIT_CODES.failed, err);
}

/** Bad configuration: the message (variables, never values) on stderr, exit 2. */
function exitOnConfigError(def: Common<KernelConfig>, err: unknown): never {
  if (isConfigError(err, def)) {
    console.error(err.message);
    process.exit(EXIT_CODES.badConfiguration);
  }
  const d = describeError(err);
  console.error(`${def.name}: could not read the configuration: ${d.type}${d.code ? ` ${d.code}` : ''}`);
  process.exit(EXIT_CODES.failed);
}

/**
 * A long-running service's whole life: configuration → build → ops endpoints → start → ready →
 * stop on SIGTERM/SIGINT within the deadline → exit with one of `EXIT_CODES`. Resolves once the
 * service is ready; the process exits when it stops.
 */
export async function runService<C extends KernelConfig>(
  def: ServiceDefinition<C>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const abort = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => abort.abort(signal));
  const destination = stdoutDestination();
  const exit = (code: number) => void drainLogs(destination).then(() => process.exit(code));
  try {
    // A stop exits, also one that came while the service was still starting (a hung connect).
    await startService(def, { env, signal: abort.signal, catchUncaught: true, destination, onStopped: exit });
  } catch (err) {
    if (err instanceof ServiceStartError) return exit(err.exitCode);
    exitOnConfigError(def, err);
  }
}

export type OneShotDefinition<C extends KernelConfig> = Common<C> & {
  /** The run: resolves to its exit code. `signal` aborts on SIGTERM/SIGINT (finish early, report). */
  run(config: C, ctx: { logger: Logger; signal: AbortSignal }): Promise<number>;
  /** Logged with the signal when one arrives (default "stopping early"). */
  stopping?: string;
};

/**
 * A one-shot run (a CronJob execution): the same configuration handling and exit codes as
 * `runService`, no ops server; SIGTERM/SIGINT abort its signal, an error it throws exits 1.
 */
export async function runOnce<C extends KernelConfig>(
  def: OneShotDefinition<C>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  let config: C;
  try {
    config = def.loadConfig(env);
  } catch (err) {
    exitOnConfigError(def, err);
  }
  const destination = stdoutDestination();
  const logger = loggerFor(def, config, destination);
  const abort = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => {
      logger.warn({ signal }, def.stopping ?? 'stopping early');
      abort.abort();
    });
  let code: number;
  try {
    code = await def.run(config, { logger, signal: abort.signal });
  } catch (err) {
    logger.error({ error: describeError(err) }, `${def.name}: the run failed`);
    code = EXIT_CODES.failed;
  }
  await drainLogs(destination);
  process.exitCode = code;
  // Whatever a library left behind must not keep a finished Job's pod alive.
  setTimeout(() => process.exit(code), 3000).unref();
}
