import { describe, expect, it } from '@jest/globals';
import { type Io, runPayctl } from '../../src/index.ts';

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
