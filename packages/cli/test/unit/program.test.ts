import { describe, expect, it } from '@jest/globals';
import {
  actorOf,
  CommandFailedError,
  DRY_RUN_ACTOR,
  EXIT_DIFFERENCES,
  type Io,
  PAYCTL_VERSION,
  Resources,
  runPayctl,
  unreachableDependency,
} from '../../src/index.ts';
import { progress } from '../../src/progress.ts';

function capture(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), env, interactive: false, color: false };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

describe('payctl command line', () => {
  it('prints help with every command and exits 0', async () => {
    const c = capture();
    expect(await runPayctl(['--help'], c.io)).toBe(0);
    for (const cmd of ['order', 'sync', 'repair', 'replay', 'check-notify-url', 'migrate', 'dlq']) {
      expect(c.out()).toContain(cmd);
    }
  });

  it('refuses a change without --reason before touching anything (exit 2)', async () => {
    const c = capture({ USER: 'alice' });
    expect(await runPayctl(['sync', 'RECHARGE_ORDER_1'], c.io)).toBe(2);
    expect(c.err()).toMatch(/--reason is required/);
    const r = capture({ USER: 'alice' });
    expect(await runPayctl(['repair', '--from', '2h', '--to', 'now'], r.io)).toBe(2);
  });

  it('says which variable is missing (exit 2)', async () => {
    const c = capture({ USER: 'alice' });
    expect(await runPayctl(['migrate', '--status'], c.io)).toBe(2);
    expect(c.err()).toMatch(/MYSQL_URL: is required/);
  });

  it('refuses unknown commands and bad arguments (exit 2)', async () => {
    expect(await runPayctl(['bogus'], capture().io)).toBe(2);
    const c = capture({ USER: 'alice' });
    expect(await runPayctl(['repair', '--from', 'yesterday', '--to', 'now', '--dry-run'], c.io)).toBe(2);
    expect(c.err()).toMatch(/--from: expected a time/);
  });

  it('refuses dlq resolve without entries, without a reason, or with both entries and --all (exit 2)', async () => {
    const none = capture({ USER: 'alice' });
    expect(await runPayctl(['dlq', 'resolve', '--reason', 'handled'], none.io)).toBe(2);
    expect(none.err()).toMatch(/name the entries to resolve/);
    const noReason = capture({ USER: 'alice' });
    expect(await runPayctl(['dlq', 'resolve', '0:1'], noReason.io)).toBe(2);
    expect(noReason.err()).toMatch(/--reason is required/);
    const both = capture({ USER: 'alice' });
    expect(await runPayctl(['dlq', 'resolve', '0:1', '--all', '--reason', 'x'], both.io)).toBe(2);
    expect(both.err()).toMatch(/not both/);
    const bad = capture({ USER: 'alice' });
    expect(await runPayctl(['dlq', 'retry', 'RC123', '--resolve', '--reason', 'x'], bad.io)).toBe(2);
    expect(bad.err()).toMatch(/not a DLQ entry id \(partition:offset\): RC123/);
  });

  it('checks the incident’s notify URL without a network call and exits 1, as JSON too', async () => {
    const c = capture();
    expect(
      await runPayctl(
        ['--json', 'check-notify-url', 'http://localhost:8080/api/payment/wechat/callback'],
        c.io,
      ),
    ).toBe(1);
    const result = JSON.parse(c.out()) as { healthy: boolean; check: { problems: { code: string }[] } };
    expect(result.healthy).toBe(false);
    expect(result.check.problems.map((p) => p.code)).toEqual(['NOT_HTTPS', 'LOCAL_HOST']);
  });
});

describe('payctl in a pod', () => {
  it('prints its version (exit 0)', async () => {
    const c = capture();
    expect(await runPayctl(['--version'], c.io)).toBe(0);
    expect(c.out().trim()).toBe(PAYCTL_VERSION);
    expect(PAYCTL_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('runs a dry run without $USER, and asks a change for --actor or PAYCTL_ACTOR (exit 2)', async () => {
    const dry = capture({});
    const stop = (io: Io) =>
      new (class extends Resources {
        override pool(): never {
          throw new CommandFailedError('would connect now');
        }
      })(io);
    expect(
      await runPayctl(['repair', '--from', '2h', '--to', 'now', '--dry-run'], dry.io, { resources: stop }),
    ).toBe(1);
    expect(dry.err()).toMatch(/would connect now/);
    const change = capture({});
    expect(await runPayctl(['sync', 'RECHARGE_ORDER_1', '--reason', 'INC-1'], change.io)).toBe(2);
    expect(change.err()).toMatch(/\$USER is unset.*--actor <your name> or set PAYCTL_ACTOR/);
    expect(actorOf(capture({ PAYCTL_ACTOR: 'carol' }).io, undefined)).toBe('carol');
    expect(actorOf(capture({}).io, undefined, true)).toBe(DRY_RUN_ACTOR);
  });

  it('names MYSQL_URL (host and port, never the password) when MySQL cannot be reached (exit 1)', async () => {
    const c = capture({ MYSQL_URL: 'mysql://paysync:s3cret@127.0.0.1:1/paysync' });
    expect(await runPayctl(['migrate', '--status'], c.io)).toBe(1);
    expect(c.err()).toMatch(/cannot reach MySQL at 127\.0\.0\.1:1 \(MYSQL_URL\): ECONNREFUSED/);
    expect(c.err()).not.toMatch(/s3cret|unexpected error/);
    expect(
      unreachableDependency(Object.assign(new Error('x'), { name: 'KafkaJSConnectionError' }), {
        KAFKA_BROKERS: 'k:9092',
      }),
    ).toBe('cannot reach Kafka at k:9092 (KAFKA_BROKERS): x');
  });

  it('prints one line per step without a terminal, and a last one when the run ends', () => {
    const c = capture();
    const bar = progress(c.io, 40, 'repair', true);
    for (let i = 0; i < 40; i++) bar.tick();
    bar.stop();
    const lines = c.err().trim().split('\n');
    expect(lines[0]).toBe('payctl: repair 2/40 (5 %)');
    expect(lines).toHaveLength(20);
    expect(lines.at(-1)).toMatch(/^payctl: repair 40\/40 \(100 %\), ended after \d+\.\d s$/);
    const json = capture();
    progress(json.io, 40, 'repair', false).tick();
    expect(json.err()).toBe('');
  });

  it('exits 3 when payctl order finds differences with WeChat Pay (documented for scripts)', () => {
    expect(EXIT_DIFFERENCES).toBe(3);
    const help = capture();
    return runPayctl(['--help'], help.io).then(() => {
      expect(help.out()).toMatch(/3 payctl order found differences/);
    });
  });
});
