import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ConfigError } from '@paysync/config';
import {
  createRegistry,
  describeError,
  EXIT_CODES,
  ServiceStartError,
  startService,
} from '../../src/index.ts';

// The kernel's process behaviour (exit codes, signals, stderr) is tested on a real Node process:
// a tiny service (test/fixtures/service-main.ts) run the way every paysync main.ts is run.
const FIXTURE = fileURLToPath(new URL('../fixtures/service-main.ts', import.meta.url));
const TOKEN = 'lettersonly';

type Fixture = {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<number | null>;
  /** Resolves with the first log line `match` accepts (or rejects when the process exits first). */
  line(match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
};
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function startFixture(env: Record<string, string>): Fixture {
  const child = spawn(process.execPath, [FIXTURE], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const waiters: {
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const l = JSON.parse(text) as Record<string, unknown>;
    lines.push(l);
    for (const w of waiters.filter((w) => w.match(l))) w.resolve(l);
  });
  createInterface({ input: child.stderr! }).on('line', (text) => stderr.push(text));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr,
    exited,
    line: (match) =>
      new Promise((resolve, reject) => {
        const seen = lines.find(match);
        if (seen) return resolve(seen);
        waiters.push({ match, resolve });
        void exited.then((code) => reject(new Error(`exited ${code}: ${JSON.stringify(lines)} ${stderr}`)));
      }),
  };
}

describe('runService (a real process)', () => {
  it('bad configuration: exit 2, the variable named on stderr, its value never', async () => {
    const f = startFixture({ FIXTURE_TOKEN: 'Secret-Value-42' });
    expect(await f.exited).toBe(EXIT_CODES.badConfiguration);
    const stderr = f.stderr.join('\n');
    expect(stderr).toContain('FIXTURE_TOKEN');
    expect(stderr).not.toContain('Secret-Value-42');
    expect(stderr).not.toMatch(/\n\s+at /); // one message, no stack trace
  });

  it('serves /readyz once ready; SIGTERM runs the stop steps in order and exits 0', async () => {
    const f = startFixture({ FIXTURE_TOKEN: TOKEN });
    const ready = await f.line((l) => l.msg === 'fixture ready');
    const opsUrl = ready.ops as string;
    expect((await fetch(`${opsUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${opsUrl}/metrics`)).status).toBe(200);
    f.child.kill('SIGTERM');
    expect(await f.exited).toBe(EXIT_CODES.ok);
    const steps = f.lines.filter((l) => l.msg === 'stop step ran').map((l) => l.step);
    expect(steps).toEqual(['first', 'second']);
    expect(f.lines.at(-1)).toMatchObject({ msg: 'fixture stopped', code: 0 });
  });

  it('a stop step that hangs: the steps before it ran, exit 4 at the deadline', async () => {
    const f = startFixture({ FIXTURE_TOKEN: TOKEN, FIXTURE_MODE: 'hang', FIXTURE_DEADLINE_MS: '300' });
    await f.line((l) => l.msg === 'fixture ready');
    f.child.kill('SIGINT');
    expect(await f.exited).toBe(EXIT_CODES.stopDeadline);
    expect(f.lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'stop step ran',
        'stop step hangs',
        expect.stringMatching(/stop deadline exceeded/),
      ]),
    );
  });

  it('SIGTERM while the start hangs (a connect retried forever): the stop steps run, exit 0', async () => {
    const f = startFixture({ FIXTURE_TOKEN: TOKEN, FIXTURE_MODE: 'stuck' });
    await f.line((l) => l.msg === 'connecting');
    f.child.kill('SIGTERM');
    expect(await f.exited).toBe(EXIT_CODES.ok);
    expect(f.lines.filter((l) => l.msg === 'stop step ran')).toHaveLength(2);
    expect(f.lines.some((l) => l.msg === 'fixture ready')).toBe(false);
  });

  it('a refused start-up check: exit 3 with its message on stderr', async () => {
    const f = startFixture({ FIXTURE_TOKEN: TOKEN, FIXTURE_MODE: 'refuse' });
    expect(await f.exited).toBe(EXIT_CODES.startRefused);
    expect(f.stderr.join('\n')).toContain('fixture refuses to start: FIXTURE_MODE=refuse');
    // The stop steps ran: nothing opened is left behind.
    expect(f.lines.filter((l) => l.msg === 'stop step ran')).toHaveLength(2);
  });

  it('a failed start or a crash: logged once, stop steps run, exit 1', async () => {
    const failed = startFixture({ FIXTURE_TOKEN: TOKEN, FIXTURE_MODE: 'fail' });
    expect(await failed.exited).toBe(EXIT_CODES.failed);
    expect(failed.lines.filter((l) => l.level === 'fatal')).toEqual([
      expect.objectContaining({ error: { type: 'Error', message: 'the broker said no' } }),
    ]);
    const crashed = startFixture({ FIXTURE_TOKEN: TOKEN, FIXTURE_MODE: 'crash' });
    expect(await crashed.exited).toBe(EXIT_CODES.failed);
    expect(crashed.lines.filter((l) => l.msg === 'stop step ran')).toHaveLength(2);
  });
});

describe('startService (in the test process)', () => {
  it('throws the configuration error as is, before building anything', async () => {
    let built = false;
    const err = await startService({
      name: 'x',
      loadConfig: () => {
        throw new ConfigError('x', [{ variable: 'X_PORT', message: 'is required' }]);
      },
      build: () => {
        built = true;
        throw new Error('unreachable');
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(built).toBe(false);
  });

  it('an aborted signal stops it: /readyz turns 503 before the stop steps run', async () => {
    const out = new Writable({ write: (_c, _e, cb) => cb() });
    const abort = new AbortController();
    const seen: number[] = [];
    const running = await startService(
      {
        name: 'x',
        loadConfig: () => ({ LOG_LEVEL: 'info' }),
        build: () => ({
          registry: createRegistry('x'),
          ops: { port: 0 },
          start: async () => {},
          stop: [
            {
              name: 'drain',
              run: async () => void seen.push((await fetch(`${running.opsUrl}/readyz`)).status),
            },
          ],
        }),
      },
      { signal: abort.signal, destination: out },
    );
    expect((await fetch(`${running.opsUrl}/readyz`)).status).toBe(200);
    abort.abort('SIGTERM');
    expect(await running.stopped).toBe(EXIT_CODES.ok);
    expect(seen).toEqual([503]);
  });

  it('a failed start says why in its exit code', async () => {
    const out = new Writable({ write: (_c, _e, cb) => cb() });
    const err = await startService(
      {
        name: 'x',
        loadConfig: () => ({}),
        build: () => ({
          registry: createRegistry('x'),
          ops: { port: 0 },
          start: () => Promise.reject(new Error('no broker')),
          stop: [],
        }),
      },
      { destination: out },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceStartError);
    expect((err as ServiceStartError).exitCode).toBe(EXIT_CODES.failed);
  });
});

describe('describeError', () => {
  it('class, code and message with its cause; no stack; bounded', () => {
    const err = Object.assign(new Error('connect failed', { cause: new TypeError('socket closed') }), {
      code: 'ECONNREFUSED',
    });
    expect(describeError(err)).toEqual({
      type: 'Error',
      code: 'ECONNREFUSED',
      message: 'connect failed (cause: TypeError: socket closed)',
    });
    expect(describeError(new Error('x'.repeat(2000))).message).toHaveLength(512);
    expect(describeError('a string')).toEqual({ type: 'string', message: 'non-error thrown' });
  });
});
