import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export type LedgerProcess = {
  name: string;
  child: ChildProcess;
  pid: number;
  opsUrl: string;
  exited: Promise<number | null>;
  lines: string[];
};

/**
 * Starts `src/main.ts` as its own process and resolves once it logs that it is ready (the ready
 * line is logged at info, so LOG_LEVEL must not be above info).
 */
export function startLedgerProcess(name: string, env: Record<string, string>): Promise<LedgerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} not ready within 60 s:\n${lines.slice(-20).join('\n')}`));
    }, 60_000);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => {
        lines.push(line);
        if (lines.length > 500) lines.shift();
        if (line.includes('"points-ledger ready"')) {
          clearTimeout(timer);
          const opsUrl = (JSON.parse(line) as { ops: string }).ops;
          resolve({ name, child, pid: child.pid as number, opsUrl, exited, lines });
        }
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${lines.slice(-20).join('\n')}`));
    });
  });
}

/** Keeps one ledger process running, restarting it whenever it exits, as Kubernetes would. */
export class Supervised {
  current: LedgerProcess | undefined;
  restarts = 0;
  private stopping = false;
  private readonly name: string;
  private readonly env: Record<string, string>;
  private watching: Promise<void> = Promise.resolve();

  constructor(name: string, env: Record<string, string>) {
    this.name = name;
    this.env = env;
  }

  async start(): Promise<LedgerProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.current = await startLedgerProcess(`${this.name}#${this.restarts}`, this.env);
        break;
      } catch (err) {
        // The database or broker may be down right now (a fault test): keep trying, like a pod.
        if (this.stopping || attempt >= 30) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    const proc = this.current;
    if (this.stopping) {
      // stop() came while this process was starting: it must not outlive the test.
      proc.child.kill('SIGKILL');
      await proc.exited;
      return proc;
    }
    this.watching = proc.exited.then(async () => {
      if (this.stopping || this.current !== proc) return;
      this.restarts += 1;
      await this.start();
    });
    return proc;
  }

  /** SIGKILL the running process; the supervisor starts a new one. */
  async kill(): Promise<void> {
    const proc = this.current;
    if (!proc) return;
    proc.child.kill('SIGKILL');
    await proc.exited;
    await this.watching;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.stopping = true;
    const proc = this.current;
    if (!proc) return null;
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      await this.watching.catch(() => {}); // a restart in flight kills what it starts
      return proc.child.exitCode;
    }
    proc.child.kill(signal);
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), 30_000);
    const code = await proc.exited;
    clearTimeout(timer);
    return code;
  }
}
