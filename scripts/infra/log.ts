import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';

const started = Date.now();

/** Progress goes to stderr so that `env` and `status --json` keep stdout clean. */
export function progress(message: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(`[infra ${s.padStart(6)}s] ${message}\n`);
}

export function seconds(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  return `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** The last lines of a (possibly large) log file, indented, for an error message. */
export function tail(path: string, lines = 20): string {
  if (!existsSync(path)) return `  | (no log at ${path})`;
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    const last = buf.toString('utf8').trimEnd().split('\n').slice(-lines);
    return last.map((l) => `  | ${l}`).join('\n');
  } finally {
    closeSync(fd);
  }
}
