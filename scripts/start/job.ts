// A command run on a schedule, like a Kubernetes CronJob with `concurrencyPolicy: Forbid`: one run
// at a time, a run still going when the next is due makes that one skipped, a run past its
// deadline is killed, and a failed run is simply followed by the next one.
import type { ChildProcess } from 'node:child_process';
import type { CombinedLog } from './log.ts';
import {
  type ExitInfo,
  type PidTracker,
  type ProcessSpec,
  signalGroup,
  spawnLogged,
  stopGroup,
} from './process.ts';

export type JobSpec = Pick<ProcessSpec, 'name' | 'command' | 'args' | 'env' | 'cwd'> & {
  everyMs: number;
  /** A run still going after this long is killed (activeDeadlineSeconds). */
  deadlineMs: number;
};

export type JobRun = {
  startedAt: Date;
  durationMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
};

export class ScheduledJob {
  readonly spec: JobSpec;
  readonly runs: JobRun[] = [];
  readonly #log: CombinedLog;
  readonly #tracker: PidTracker | undefined;
  #timer: NodeJS.Timeout | undefined;
  #current: { child: ChildProcess; exited: Promise<ExitInfo>; done: Promise<JobRun> } | undefined;
  #stopping = false;
  readonly #waiters: { test: (run: JobRun) => boolean; resolve: (run: JobRun) => void }[] = [];

  constructor(spec: JobSpec, log: CombinedLog, tracker?: PidTracker) {
    this.spec = spec;
    this.#log = log;
    this.#tracker = tracker;
  }

  get name(): string {
    return this.spec.name;
  }

  get running(): boolean {
    return this.#current !== undefined;
  }

  get pid(): number | undefined {
    return this.#current?.child.pid;
  }

  /** First run now, then one every `everyMs`. */
  start(): void {
    if (this.#timer || this.#stopping) return;
    void this.runNow();
    this.#timer = setInterval(() => {
      if (this.#current) {
        this.#log.note(
          this.name,
          'the previous run is still going: this one is skipped (concurrencyPolicy Forbid)',
        );
        return;
      }
      void this.runNow();
    }, this.spec.everyMs);
  }

  /** Starts a run unless one is going; resolves when that run ends. */
  runNow(): Promise<JobRun> {
    if (this.#current) return this.#current.done;
    const startedAt = new Date();
    const { child, exited } = spawnLogged(this.spec, this.#log);
    const pid = child.pid;
    if (pid !== undefined) this.#tracker?.started(this.name, pid);
    const deadline = setTimeout(() => {
      this.#log.note(this.name, `run still going after ${this.spec.deadlineMs / 1000}s: killed`, 'warn');
      if (pid !== undefined) signalGroup(pid, 'SIGKILL');
    }, this.spec.deadlineMs);
    const done = exited.then((info) => {
      clearTimeout(deadline);
      if (pid !== undefined) {
        signalGroup(pid, 'SIGKILL');
        this.#tracker?.ended(this.name, pid);
      }
      const run: JobRun = { startedAt, durationMs: Date.now() - startedAt.getTime(), ...info };
      this.runs.push(run);
      if (this.runs.length > 500) this.runs.shift();
      this.#current = undefined;
      if (info.code !== 0 && !this.#stopping) {
        const how = info.signal ? `killed by ${info.signal}` : `exit ${info.code}`;
        this.#log.note(this.name, `run failed (${how}); the next one runs on schedule`, 'warn');
      }
      for (const w of [...this.#waiters]) {
        if (w.test(run)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(run);
        }
      }
      return run;
    });
    this.#current = { child, exited, done };
    return done;
  }

  /** Resolves with the first run from now on that passes `test` (e.g. the first successful one). */
  nextRun(test: (run: JobRun) => boolean = () => true): Promise<JobRun> {
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }

  /** Kills the run going on now, if any (as a node failure would); resolves when it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<JobRun | undefined> {
    const current = this.#current;
    if (!current?.child.pid) return undefined;
    signalGroup(current.child.pid, signal);
    return current.done;
  }

  /** No more runs; a run going on gets SIGTERM (it stops early and pushes its metrics), then SIGKILL. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    const current = this.#current;
    if (current) {
      await stopGroup(current.child, current.exited, 15_000);
      await current.done;
    }
  }
}
