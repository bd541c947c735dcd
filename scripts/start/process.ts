// One supervised process: started in a process group of its own, its output fed to the combined
// log, restarted with back-off whenever it exits unasked (as Kubernetes restarts a container), and
// stopped with SIGTERM, then SIGKILL, group and all.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CACHE } from '../infra/config.ts';
import type { CombinedLog } from './log.ts';

export type ProcessSpec = {
  name: string;
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd?: string;
  /** GET this URL; any 2xx means the process is healthy. */
  health?: string;
  /** How long SIGTERM may take before SIGKILL (default 15 s). */
  stopTimeoutMs?: number;
};

export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null };

/** Keeps track of the pids a stack started, so a later run can find what a crash left behind. */
export type PidTracker = { started(name: string, pid: number): void; ended(name: string, pid: number): void };

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 15_000;
/** A process that ran this long before exiting is restarted at once, with the back-off reset. */
const STABLE_AFTER_MS = 30_000;

/** Spawns a command in its own process group with its output going line by line to `log`. */
export function spawnLogged(
  spec: Pick<ProcessSpec, 'name' | 'command' | 'args' | 'env' | 'cwd'>,
  log: CombinedLog,
): { child: ChildProcess; exited: Promise<ExitInfo> } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  delete env.NODE_OPTIONS; // a Jest parent's --experimental-vm-modules is not for the services
  // Node's on-disk compile cache: a process started again (a restart, the sweep every few seconds)
  // skips compiling its modules. On two cores a cold start of the sweep took enough CPU to show in
  // the end-to-end p99 of the notifications flowing beside it (bench/scenarios/e2e-latency.ts).
  env.NODE_COMPILE_CACHE ??= join(CACHE, 'node-compile-cache');
  const child = spawn(spec.command, [...spec.args], {
    cwd: spec.cwd,
    env: { ...env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: Ctrl-C reaches the supervisor only, which stops children in order
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    let done = false;
    const finish = (info: ExitInfo) => {
      if (done) return;
      done = true;
      resolve(info);
    };
    child.once('exit', (code, signal) => finish({ code, signal }));
    child.once('error', (err) => {
      log.note(spec.name, `could not start ${spec.command}: ${err.message}`, 'error');
      finish({ code: 127, signal: null });
    });
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream)
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (l) =>
        log.line(spec.name, l),
      );
  }
  return { child, exited };
}

/** Sends a signal to a process group; false when it is gone already. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM the group, SIGKILL it after `timeoutMs`, then SIGKILL whatever is left in the group. */
export async function stopGroup(
  child: ChildProcess,
  exited: Promise<ExitInfo>,
  timeoutMs: number,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<ExitInfo> {
  const pid = child.pid;
  if (pid === undefined) return exited;
  if (child.exitCode === null && child.signalCode === null) signalGroup(pid, signal);
  const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), timeoutMs);
  const info = await exited;
  clearTimeout(timer);
  signalGroup(pid, 'SIGKILL'); // anything the process started and left behind
  return info;
}

function describeExit(info: ExitInfo): string {
  return info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
}

export class SupervisedProcess {
  readonly spec: ProcessSpec;
  /** Restarts after unasked exits so far. */
  restarts = 0;
  readonly #log: CombinedLog;
  readonly #tracker: PidTracker | undefined;
  #child: ChildProcess | undefined;
  #exited: Promise<ExitInfo> | undefined;
  #stopping = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #backoffMs = BACKOFF_START_MS;
  readonly #exitWaiters: ((info: ExitInfo) => void)[] = [];

  constructor(spec: ProcessSpec, log: CombinedLog, tracker?: PidTracker) {
    this.spec = spec;
    this.#log = log;
    this.#tracker = tracker;
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  start(): void {
    if (this.#stopping) return;
    const startedAt = Date.now();
    const { child, exited } = spawnLogged(this.spec, this.#log);
    this.#child = child;
    this.#exited = exited;
    const pid = child.pid;
    if (pid !== undefined) this.#tracker?.started(this.name, pid);
    void exited.then((info) => {
      if (pid !== undefined) this.#tracker?.ended(this.name, pid);
      for (const w of this.#exitWaiters.splice(0)) w(info);
      if (this.#stopping || this.#child !== child) return;
      const ranMs = Date.now() - startedAt;
      if (ranMs >= STABLE_AFTER_MS) this.#backoffMs = BACKOFF_START_MS;
      const delay = this.#backoffMs;
      this.#backoffMs = Math.min(this.#backoffMs * 2, BACKOFF_MAX_MS);
      this.restarts += 1;
      this.#log.note(
        this.name,
        `${describeExit(info)} after ${(ranMs / 1000).toFixed(1)}s; restarting in ${(delay / 1000).toFixed(1)}s (restart ${this.restarts})`,
        'warn',
      );
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = undefined;
        this.start();
      }, delay);
    });
  }

  /** True when the health URL answers 2xx (always true for a process without one, while it runs). */
  async healthy(timeoutMs = 2000): Promise<boolean> {
    if (this.pid === undefined) return false;
    if (!this.spec.health) return true;
    try {
      const res = await fetch(this.spec.health, { signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  /** Kills the running process (SIGKILL by default) as a crash would; the supervisor restarts it. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo | undefined> {
    const pid = this.pid;
    if (pid === undefined) return undefined;
    const exited = new Promise<ExitInfo>((resolve) => this.#exitWaiters.push(resolve));
    signalGroup(pid, signal);
    return exited;
  }

  /** No more restarts; SIGTERM (then SIGKILL) the process group and wait for it. */
  async stop(): Promise<ExitInfo | undefined> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    if (!this.#child || !this.#exited) return undefined;
    return stopGroup(this.#child, this.#exited, this.spec.stopTimeoutMs ?? 15_000);
  }
}
