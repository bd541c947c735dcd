import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Io, runPayctl } from '@paysync/cli';
import type { RowDataPacket } from '@paysync/db';
import { billDifferences } from '@paysync/reconcile';
import { beijingDay } from '@paysync/wechatpay';
import { runBillJob } from '../../src/index.ts';
import { createReconcilerWorld, type ReconcilerWorld } from '../world.ts';

// The bill CronJob's process: `node src/main.ts bill --date …`, configured only through its environment.
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/main.ts');
let world: ReconcilerWorld;
let env: Record<string, string>;

beforeAll(async () => {
  world = await createReconcilerWorld('rec_bill');
  env = { ...(await world.processEnv()), WECHATPAY_RETRIES: '0', LOG_LEVEL: 'info' };
});
afterAll(async () => {
  await world?.close();
});

function run(args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: env as NodeJS.ProcessEnv, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

const summaryOf = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === 'trade bill run finished');

describe('paysync-reconciler bill (the CronJob process)', () => {
  it('settles a payment the books missed through the ledger, once, and reports the day', async () => {
    const [missed, settled] = await world.createOrders(2);
    world.pay(missed!);
    world.pay(settled!);
    // The books gave up on `missed` (expired) although the user paid; `settled` is booked paid.
    await world.pool.query("UPDATE payment_orders SET status = 'expired' WHERE out_trade_no = ?", [
      missed!.outTradeNo,
    ]);
    const tx = world.sandbox.order(settled!.outTradeNo);
    await world.pool.query(
      "UPDATE payment_orders SET status = 'paid', transaction_id = ?, success_time = ? WHERE out_trade_no = ?",
      [tx.transaction_id, new Date(tx.success_time!), settled!.outTradeNo],
    );
    const day = beijingDay(new Date(tx.success_time!));

    const first = await run(['bill', '--date', day]);
    expect(first.code).toBe(0);
    expect(summaryOf(first.stdout)).toMatchObject({
      billDate: day,
      status: 'succeeded',
      rows: 2,
      differences: { paid_not_settled: 1, missing_at_wechat: 0, unknown_order: 0 },
      critical: 0,
      actions: { done: 1, pending: 0, failed: 0 },
    });
    expect(first.stdout + first.stderr).not.toContain(world.sandbox.merchant!.apiV3Key);
    await world.waitUntilConsumed();
    expect(await world.order(missed!.outTradeNo)).toMatchObject({ status: 'paid' });
    const points = async () =>
      (
        await world.pool.query<RowDataPacket[]>(
          'SELECT COUNT(*) AS n FROM point_transactions WHERE out_trade_no = ?',
          [missed!.outTradeNo],
        )
      )[0][0]?.n;
    expect(Number(await points())).toBe(1);

    // Again: the difference is cleared (the books now agree), nothing is applied twice.
    const second = await run(['bill', '--date', day]);
    expect(second.code).toBe(0);
    expect(summaryOf(second.stdout)).toMatchObject({
      differences: { paid_not_settled: 0 },
      actions: { done: 0 },
    });
    await world.waitUntilConsumed();
    expect(Number(await points())).toBe(1);
    const [d] = await billDifferences(world.pool, { mchid: world.sandbox.merchant!.mchid, billDate: day });
    expect(d).toMatchObject({
      class: 'paid_not_settled',
      status: 'resolved',
      resolution: 'cleared',
      actionStatus: 'done',
    });
  });

  it('exits 0 for a day without a bill and nothing paid; 2 for a bad date', async () => {
    const quiet = await run(['bill', '--date', '2026-01-05']);
    expect(quiet.code).toBe(0);
    expect(summaryOf(quiet.stdout)).toMatchObject({ status: 'no_statement', critical: 0 });
    const bad = await run(['bill', '--date', '5 Jan']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--date must be YYYY-MM-DD/);
  });

  it('payctl bill run|show|list|resolve: --json summaries, exit 1 on a critical difference until a person resolves it', async () => {
    const payctl = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const io: Io = {
        out: (t) => out.push(t),
        err: (t) => err.push(t),
        env,
        interactive: false,
        color: false,
      };
      const code = await runPayctl(argv, io);
      return { code, out: out.join(''), err: err.join('') };
    };
    const [order] = await world.createOrders(1, { tag: 'P' });
    const tx = world.sandbox.pay(order!.outTradeNo);
    await world.pool.query(
      "UPDATE payment_orders SET status = 'paid', amount_total = 999, transaction_id = ?, success_time = ? WHERE out_trade_no = ?",
      [tx.transaction_id, new Date(tx.success_time!), order!.outTradeNo],
    );
    const day = beijingDay(new Date(tx.success_time!));

    const run1 = await payctl('bill', 'run', day, '--json', '--actor', 'alice');
    expect(run1.code).toBe(1);
    const summary = JSON.parse(run1.out) as Record<string, unknown>;
    expect(summary).toMatchObject({ billDate: day, status: 'succeeded', critical: 1 });
    expect(summary.differences).toMatchObject({ amount_mismatch: 1 });

    const show = await payctl('bill', 'show', day, '--json');
    expect(show.code).toBe(0);
    const shown = JSON.parse(show.out) as {
      run: { status: string };
      differences: { id: number; class: string; status: string }[];
    };
    expect(shown.run.status).toBe('succeeded');
    const mismatch = shown.differences.find((d) => d.class === 'amount_mismatch' && d.status === 'open');
    expect(mismatch).toBeDefined();
    expect((await payctl('bill', 'show', day)).out).toContain('amount_mismatch');
    expect((await payctl('bill', 'list')).out).toMatch(new RegExp(`${day}\\s+\\d+\\s+succeeded`));
    const open = JSON.parse((await payctl('bill', 'list', '--open', '--json')).out) as { id: number }[];
    expect(open.map((d) => d.id)).toContain(mismatch!.id);

    expect((await payctl('bill', 'resolve', String(mismatch!.id))).code).toBe(2); // no --reason
    const resolved = await payctl(
      'bill',
      'resolve',
      String(mismatch!.id),
      '--reason',
      'INC-9 amount fixed',
      '--actor',
      'alice',
    );
    expect(resolved.code).toBe(0);
    const again = await payctl(
      'bill',
      'resolve',
      String(mismatch!.id),
      '--reason',
      'twice',
      '--actor',
      'alice',
    );
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/resolved already/);
    const [audit] = (
      await world.pool.query<RowDataPacket[]>(
        "SELECT actor, reason FROM operator_audit_log WHERE action = 'bill_resolve'",
      )
    )[0];
    expect(audit).toMatchObject({ actor: 'alice', reason: 'INC-9 amount fixed' });
    expect((await payctl('bill', 'run', day, '--actor', 'alice')).code).toBe(0); // resolved by a person: stays resolved
    expect((await payctl('bill', 'run', 'May 1')).code).toBe(2);
    expect((await payctl('bill', 'show', '2020-01-01')).code).toBe(1);
  });

  it('asks again while WeChat is still making the bill, until the deadline (Beijing time)', async () => {
    const [order] = await world.createOrders(1, { tag: 'C' });
    const tx = world.sandbox.pay(order!.outTradeNo);
    const day = beijingDay(new Date(tx.success_time!));
    const setBillFaults = (patch: object) =>
      fetch(`${world.sandbox.url}/sandbox/bill/faults`, { method: 'POST', body: JSON.stringify(patch) });
    const job = (beijingClock: string) =>
      runBillJob(
        {
          pool: world.reconcilerPool,
          client: world.client,
          mchid: world.sandbox.merchant!.mchid,
          sync: { wechat: world.client, publisher: world.publisher, origin: { producer: 'reconciler-bill' } },
          logger: world.logger,
          clock: () => Date.parse(`${day}T${beijingClock}+08:00`),
        },
        { billDate: day, holdDays: 1, maxDifferences: 100, retryIntervalMs: 1, deadline: '12:00' },
      );

    await setBillFaults({ statementCreatingNext: 2 });
    const before = await job('10:15:00');
    expect(before.summary.status).toBe('succeeded');
    expect(before.exitCode).toBe(0);
    const [[run]] = await world.pool.query<RowDataPacket[]>(
      'SELECT attempts FROM trade_bill_runs WHERE bill_date = ?',
      [day],
    );
    const attempts = Number(run?.attempts);

    await setBillFaults({ statementCreatingNext: 1 });
    const after = await job('12:00:00'); // the next ask would come after the deadline
    expect(after.summary.status).toBe('statement_creating');
    expect(after.exitCode).toBe(1);
    const [[again]] = await world.pool.query<RowDataPacket[]>(
      'SELECT attempts, status FROM trade_bill_runs WHERE bill_date = ?',
      [day],
    );
    expect(again).toMatchObject({ status: 'statement_creating' });
    expect(Number(again?.attempts)).toBe(attempts + 1);
    await setBillFaults({ statementCreatingNext: 0 });
  });
});
