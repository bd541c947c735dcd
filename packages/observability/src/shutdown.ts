import type { Logger } from 'pino';

export type ShutdownStep = { name: string; run: () => Promise<void> };

export type Shutdown = {
  /** Steps run in the order added: stop intake first, then drain, then close connections. */
  add(step: ShutdownStep): void;
  /** Runs every step once; later calls return the same promise. Resolves to the exit code. */
  run(reason: string): Promise<number>;
};

/**
 * Graceful shutdown in the order a service needs it. A step that fails is logged and the rest
 * still run, so connections are closed even when draining failed; the exit code is then 1.
 * Each step has its own timeout so a hung dependency cannot keep a terminating pod alive.
 */
export function createShutdown(logger: Logger, opts: { stepTimeoutMs?: number } = {}): Shutdown {
  const steps: ShutdownStep[] = [];
  const stepTimeoutMs = opts.stepTimeoutMs ?? 10_000;
  let running: Promise<number> | undefined;

  async function runAll(reason: string): Promise<number> {
    logger.info({ reason }, 'shutting down');
    let code = 0;
    for (const step of steps) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          step.run(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${stepTimeoutMs} ms`)), stepTimeoutMs);
          }),
        ]);
      } catch (err) {
        code = 1;
        logger.error({ err, step: step.name }, 'shutdown step failed');
      } finally {
        clearTimeout(timer);
      }
    }
    logger.info({ code }, 'shutdown complete');
    return code;
  }

  return {
    add: (step) => {
      steps.push(step);
    },
    run: (reason) => {
      running ??= runAll(reason);
      return running;
    },
  };
}

/** Wires SIGTERM and SIGINT to a shutdown and exits the process with its code. */
export function exitOnSignals(shutdown: Shutdown): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void shutdown.run(signal).then((code) => process.exit(code));
    });
  }
}
