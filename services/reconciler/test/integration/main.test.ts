import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createReconcilerWorld, type ReconcilerWorld } from '../world.ts';

// The CronJob's process: `node src/main.ts sweep`, configured only through its environment.
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/main.ts');
let world: ReconcilerWorld;
let env: Record<string, string>;

beforeAll(async () => {
  world = await createReconcilerWorld('rec_main', { ledger: false });
  env = {
    ...(await world.processEnv()),
    WECHATPAY_RETRIES: '0',
    WECHATPAY_BREAKER_VOLUME: '3',
    WECHATPAY_NOTIFY_URL: 'https://localhost/api/payment/wechat/callback',
    RECONCILER_QPS: '500',
    LOG_LEVEL: 'info',
  };
});
afterAll(async () => {
  await world?.close();
});

function run(args: string[], extraEnv: Record<string, string | undefined> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const childEnv = { ...env, ...extraEnv };
    for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: childEnv as NodeJS.ProcessEnv, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('paysync-reconciler sweep (the CronJob process)', () => {
  it('checks every due order, logs a summary, exits 0 and never logs a key', async () => {
    const orders = await world.createOrders(12);
    world.pay(orders[0]!);
    const { code, stdout, stderr } = await run(['sweep']);
    expect(code).toBe(0);
    // Plain `node`, as a user runs it: none of kafkajs's start-up noise (packages/kafka quiets it).
    expect(stdout + stderr).not.toMatch(/TimeoutNegativeWarning|negative number|Limiting retries/);
    const summary = logLines(stdout).find((l) => l.msg === 'sweep finished');
    expect(summary).toMatchObject({
      status: 'ok',
      checked: 12,
      outcomes: { paid: 1, pending: 11 },
      exitCode: 0,
    });
    // The notify URL is the incident's localhost: loudly unhealthy, not a failed run.
    expect(logLines(stdout).some((l) => l.msg === 'notify URL cannot receive notifications')).toBe(true);
    const m = world.sandbox.merchant!;
    expect(stdout).not.toContain(m.apiV3Key);
    expect(stdout).not.toContain(m.privateKeyPem.split('\n')[1]!);
    const row = await world.order(orders[1]!.outTradeNo);
    expect(row).toMatchObject({ check_attempts: 1, last_wechat_state: 'NOTPAY' });
  });

  it('exits 1 when WeChat fails and the breaker opens', async () => {
    await world.createOrders(10);
    world.sandbox.setFaults({ failNextQueries: 1000, failStatus: 500 });
    try {
      const { code, stdout } = await run(['sweep', '--shard', '0/1'], { RECONCILER_CONCURRENCY: '1' });
      expect(code).toBe(1);
      expect(logLines(stdout).find((l) => l.msg === 'sweep failed')).toMatchObject({
        status: 'breaker_open',
      });
    } finally {
      world.sandbox.resetFaults();
    }
  });

  it('exits 2 with a readable message on bad configuration or arguments', async () => {
    const missing = await run(['sweep'], { MYSQL_URL: undefined });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/MYSQL_URL: is required/);
    const shard = await run(['sweep', '--shard', '3/2']);
    expect(shard.code).toBe(2);
    expect(shard.stderr).toMatch(/--shard: shard must look like i\/n/);
    const mode = await run(['sweep-everything']);
    expect(mode.code).toBe(2);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/usage: paysync-reconciler sweep/);
  });
});
