// The PaymentRepair operator as the Deployment runs it: a separate node process
// (`node services/reconciler/src/main.ts operator`) with its configuration in the environment.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PATHS, ROOT } from '../../scripts/infra/config.ts';

export const OPERATOR_MAIN = join(ROOT, 'services', 'reconciler', 'src', 'main.ts');

export type LogLine = { msg?: string; level?: number | string; [k: string]: unknown };

export class OperatorProcess {
  readonly identity: string;
  readonly lines: LogLine[] = [];
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #stderr = '';

  constructor(identity: string, env: Record<string, string>) {
    this.identity = identity;
    this.#child = spawn(process.execPath, [OPERATOR_MAIN, 'operator'], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_OPTIONS: '--trace-warnings',
        ...env,
        RECONCILER_OPERATOR_IDENTITY: identity,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    this.#child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      let i = buffer.indexOf('\n');
      while (i >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ msg: line });
        }
        i = buffer.indexOf('\n');
      }
    });
    this.#child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.#stderr = (this.#stderr + d).slice(-20_000);
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get stderr(): string {
    return this.#stderr;
  }

  saw(msg: string): boolean {
    return this.lines.some((l) => l.msg === msg);
  }

  /** SIGTERM, then the exit code (SIGKILL after `graceMs`). */
  async stop(graceMs = 20_000): Promise<number | null> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return this.#child.exitCode;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Keeps what it logged under .cache/logs for a look after a failed run; returns the path. */
  saveLog(tag: string): string {
    mkdirSync(PATHS.logs, { recursive: true });
    const path = join(PATHS.logs, `${tag}-${this.identity}.log`);
    writeFileSync(
      path,
      `${this.lines.map((l) => JSON.stringify(l)).join('\n')}\n--- stderr ---\n${this.#stderr}`,
    );
    return path;
  }

  /** A crash: no shutdown, no Lease release. */
  async kill(): Promise<void> {
    this.#child.kill('SIGKILL');
    await this.#exited;
  }

  exited(): Promise<number | null> {
    return this.#exited;
  }
}
