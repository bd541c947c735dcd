import { type SpawnOptions, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfraError } from './errors.ts';
import { progress, tail } from './log.ts';

export type RunResult = { code: number; stdout: string; stderr: string };

/** Runs a command to completion, capturing its output. Never throws for a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  options: SpawnOptions & { input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (err) =>
      reject(new InfraError('SPAWN_FAILED', `could not run ${cmd}: ${err.message}`)),
    );
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    // A command that exits without reading its input (a client refused by a server still starting)
    // closes the pipe first: that EPIPE is not an error of ours, the exit code tells what happened.
    child.stdin?.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE')
        reject(new InfraError('SPAWN_FAILED', `could not write to ${cmd}: ${err.message}`));
    });
    child.stdin?.end(options.input ?? '');
  });
}

/**
 * Runs a long command with its output appended to a log file, printing a "still running" line every
 * `every` ms. Throws with the log's tail when it fails.
 */
export async function runLogged(
  what: string,
  cmd: string,
  args: string[],
  logFile: string,
  options: SpawnOptions = {},
  every = 30_000,
): Promise<void> {
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  const started = Date.now();
  const timer = setInterval(
    () => progress(`${what}: still running (${Math.round((Date.now() - started) / 1000)}s)…`),
    every,
  );
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(cmd, args, { ...options, stdio: ['ignore', fd, fd] });
      const stop = () => child.kill('SIGTERM');
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      child.on('error', (err) =>
        reject(new InfraError('SPAWN_FAILED', `${what}: could not run ${cmd}: ${err.message}`)),
      );
      child.on('close', (c, signal) => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve(c ?? (signal ? 128 : 1));
      });
    });
    if (code !== 0) {
      throw new InfraError('STEP_FAILED', `${what} failed (exit ${code}); log: ${logFile}`, tail(logFile));
    }
  } finally {
    clearInterval(timer);
    closeSync(fd);
  }
}

/** Starts a server in its own session with output to a log file; it outlives this process. */
export function spawnDaemon(cmd: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): number {
  mkdirSync(dirname(logFile), { recursive: true });
  // Logs are appended across runs; past 20 MB the old one is moved aside.
  if ((statSync(logFile, { throwIfNoEntry: false })?.size ?? 0) > 20 * 1024 * 1024)
    renameSync(logFile, `${logFile}.old`);
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
    if (child.pid === undefined) throw new InfraError('SPAWN_FAILED', `could not start ${cmd}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** A process is ours when it is alive and its command line carries our marker (an absolute path). */
export function isOurs(pid: number, marker: string): boolean {
  return alive(pid) && (cmdline(pid)?.includes(marker) ?? false);
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

export function writePid(pidFile: string, pid: number): void {
  mkdirSync(dirname(pidFile), { recursive: true });
  writeFileSync(pidFile, `${pid}\n`);
}

export function removeFile(path: string): void {
  rmSync(path, { force: true });
}

/** Every live process whose command line contains the marker. */
export function findProcesses(marker: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const cmd = cmdline(pid);
    if (cmd?.includes(marker) && alive(pid)) found.push({ pid, cmd });
  }
  return found;
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves once the process is gone. */
export async function stopProcess(pid: number, name: string, graceMs: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return;
    await sleep(100);
  }
  progress(`${name} (pid ${pid}) did not stop within ${graceMs / 1000}s of SIGTERM; sending SIGKILL`);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  if (alive(pid)) throw new InfraError('STOP_FAILED', `${name} (pid ${pid}) is still running after SIGKILL`);
}
