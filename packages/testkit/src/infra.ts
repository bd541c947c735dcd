import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export type InfraEnv = { MYSQL_URL: string; KAFKA_BROKERS: string };

/** Runs the local infrastructure script (`scripts/infra.ts`) with the running Node.js. */
export async function infraCommand(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [resolve(REPO_ROOT, 'scripts/infra.ts'), ...args], {
      cwd: REPO_ROOT,
      maxBuffer: 16 * 1024 * 1024,
      timeout: 30 * 60_000,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`scripts/infra.ts ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

export async function localInfraEnv(): Promise<InfraEnv> {
  return JSON.parse(await infraCommand('env', '--json')) as InfraEnv;
}

/** True when something accepts TCP connections on host:port within the timeout. */
export function portAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** True when a Docker engine answers on its socket (the client alone is not enough). */
export function dockerEngineAnswers(socketPath = '/var/run/docker.sock', timeoutMs = 1500): Promise<boolean> {
  return new Promise((done) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on('timeout', () => {
      req.destroy();
      done(false);
    });
    req.on('error', () => done(false));
    req.end();
  });
}

export function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}
