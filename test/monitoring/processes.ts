import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/** A port nothing listens on right now (bound and released), for servers that need one up front. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export type Proc = {
  name: string;
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
};

/**
 * Starts a process and resolves once `ready(line)` returns a value for one of its output lines
 * (or, without `ready`, at once). Output is kept (last 2000 lines) for failure messages and checks.
 */
export function startProcess<T = true>(
  name: string,
  command: string,
  args: string[],
  opts: { env?: Record<string, string>; ready?: (line: string) => T | undefined; timeoutMs?: number } = {},
): Promise<{ proc: Proc; ready: T }> {
  const child = spawn(command, args, {
    env: { ...process.env, ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  // 'close' comes after the exit and after stdout/stderr are drained, so every line is in `lines`.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const proc: Proc = {
    name,
    child,
    lines,
    exited,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(
        new Error(`${name} not ready within ${opts.timeoutMs ?? 60_000} ms:\n${lines.slice(-30).join('\n')}`),
      );
    }, opts.timeoutMs ?? 60_000);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => {
        lines.push(line);
        if (lines.length > 2000) lines.shift();
        if (done || !opts.ready) return;
        const value = opts.ready(line);
        if (value !== undefined) {
          done = true;
          clearTimeout(timer);
          resolve({ proc, ready: value });
        }
      });
    }
    if (!opts.ready) {
      done = true;
      clearTimeout(timer);
      resolve({ proc, ready: true as T });
    }
    child.once('error', (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(err);
    });
    void exited.then((code) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${lines.slice(-30).join('\n')}`));
    });
  });
}

/** Runs a process to its end; resolves with its exit code and output. */
export async function runToEnd(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; lines: string[] }> {
  const { proc } = await startProcess(name, command, args, { env });
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, lines: proc.lines };
}

/** The JSON log line of a paysync service announcing it is ready, parsed. */
export function readyLine(message: string): (line: string) => Record<string, unknown> | undefined {
  return (line) => {
    if (!line.includes(`"${message}"`)) return undefined;
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
}
