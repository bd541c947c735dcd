import { existsSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from './config.ts';
import { HOST, rel } from './config.ts';
import { InfraError } from './errors.ts';
import { progress, tail } from './log.ts';
import { portFree } from './net.ts';
import { findProcesses, isOurs, readPid, removeFile, stopProcess } from './proc.ts';

/** What `status`, `down` and the start-up helpers need to know about one server. */
export type Server = {
  name: string;
  title: string;
  pidFile: string;
  logFile: string;
  /** An absolute path that appears in the server's command line and in no one else's. */
  marker: string;
  ports: (config: Config) => number[];
  stopGraceMs: number;
};

export type ServerStatus = {
  name: string;
  address: string;
  pid: number | null;
  state: 'running' | 'stopped';
};

/** The pid of the running server that we started, or undefined (a stale pid file is removed). */
export function runningPid(server: Server): number | undefined {
  const pid = readPid(server.pidFile);
  if (pid === undefined) return undefined;
  if (isOurs(pid, server.marker)) return pid;
  removeFile(server.pidFile);
  return undefined;
}

export function status(server: Server, config: Config): ServerStatus {
  const pid = runningPid(server);
  const port = server.ports(config)[0];
  return {
    name: server.name,
    address: `${HOST}:${port}`,
    pid: pid ?? null,
    state: pid ? 'running' : 'stopped',
  };
}

/** Refuses to start when another process holds one of the server's ports. */
export async function assertPortsFree(server: Server, config: Config): Promise<void> {
  for (const port of server.ports(config)) {
    if (!(await portFree(HOST, port))) {
      throw new InfraError(
        'PORT_IN_USE',
        `${server.title} cannot start: ${HOST}:${port} is already in use by a process this script did not start (see \`ss -ltnp 'sport = :${port}'\`); stop it or choose another port with the PAYSYNC_*_PORT variables`,
      );
    }
  }
}

/**
 * Polls `ready` until it holds, the process dies, or the timeout passes; the error names the
 * address, the time waited and the log, followed by the log's last lines.
 */
export async function waitReady(
  server: Server,
  pid: number,
  address: string,
  ready: () => Promise<boolean>,
  extraLogs: string[] = [],
): Promise<void> {
  const timeoutS = Number(process.env.PAYSYNC_READY_TIMEOUT_S ?? 60);
  const deadline = Date.now() + timeoutS * 1000;
  const logs = () =>
    [server.logFile, ...extraLogs]
      .filter((f) => f === server.logFile || (existsSync(f) && statSync(f).size > 0))
      .map((f) => `${rel(f)}:\n${tail(f)}`)
      .join('\n');
  while (Date.now() < deadline) {
    if (!isOurs(pid, server.marker)) {
      removeFile(server.pidFile);
      throw new InfraError(
        'SERVER_EXITED',
        `${server.title} exited during start-up (pid ${pid}); log: ${rel(server.logFile)}`,
        logs(),
      );
    }
    if (await ready()) return;
    await sleep(250);
  }
  throw new InfraError(
    'NOT_READY',
    `${server.title} did not become ready on ${address} within ${timeoutS} s; log: ${rel(server.logFile)}`,
    logs(),
  );
}

/**
 * Waits for a server; when this run started it and it never became ready, it is stopped again so that
 * no half-started process stays behind.
 */
export async function awaitStart(
  server: Server,
  startedNow: boolean,
  wait: () => Promise<void>,
): Promise<void> {
  try {
    await wait();
  } catch (err) {
    if (startedNow) await stopServer(server).catch(() => undefined);
    throw err;
  }
}

/** Stops the server if we started it, plus any stray process carrying its marker. */
export async function stopServer(server: Server): Promise<boolean> {
  let stopped = false;
  const pid = runningPid(server);
  if (pid !== undefined) {
    progress(`stopping ${server.title} (pid ${pid})…`);
    await stopProcess(pid, server.title, server.stopGraceMs);
    stopped = true;
  }
  for (const stray of findProcesses(server.marker)) {
    progress(`stopping stray ${server.title} process ${stray.pid} (${stray.cmd.slice(0, 80)}…)`);
    await stopProcess(stray.pid, server.title, server.stopGraceMs);
    stopped = true;
  }
  removeFile(server.pidFile);
  return stopped;
}
