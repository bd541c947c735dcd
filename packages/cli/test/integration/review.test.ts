import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createComponentAccount,
  createPool,
  findReview,
  migrateUp,
  openReviews,
  type Pool,
  type RowDataPacket,
} from '@paysync/db';
import { createIsolatedDatabase, type IsolatedDatabase } from '@paysync/testkit';
import { runPayctl } from '../../src/index.ts';

// payctl review, as an SRE runs it: under payctl's own database account, against a real MariaDB
// holding the reviews the ledger opened. The binary lists and resolves; the refusals run in-process
// (the same runPayctl the binary calls), which keeps the test quick.
const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/bin.ts');
let db: IsolatedDatabase;
let admin: Pool;
let payctlUrl = '';
let dropAccount: () => Promise<void> = async () => {};
let mismatchId = 0;
let lateId = 0;

beforeAll(async () => {
  db = await createIsolatedDatabase('payctl_review');
  admin = createPool({ url: db.url, connectionLimit: 2 });
  await migrateUp(admin);
  const account = await createComponentAccount(db.url, 'payctl');
  payctlUrl = account.url;
  dropAccount = account.drop;
  const seen = new Date('2026-05-01T02:00:00Z');
  await openReviews(
    admin,
    [
      {
        kind: 'mismatch',
        outTradeNo: 'RECHARGE_ORDER_REVIEW_0001',
        transactionId: '4200000000000000000000000000001',
        observationId: randomUUID(),
        detail: "amount 1001 differs from the order's 1000",
        observedFen: 1001,
      },
      {
        kind: 'late_payment',
        outTradeNo: 'RECHARGE_ORDER_REVIEW_0002',
        transactionId: '4200000000000000000000000000002',
        observationId: randomUUID(),
        detail: 'late payment after expired',
        observedFen: 1000,
      },
    ],
    seen,
  );
  const [rows] = await admin.query<RowDataPacket[]>('SELECT id, kind FROM payment_reviews');
  mismatchId = Number(rows.find((r) => r.kind === 'mismatch')?.id);
  lateId = Number(rows.find((r) => r.kind === 'late_payment')?.id);
});

afterAll(async () => {
  await admin?.end();
  await dropAccount();
  await db?.drop();
});

/** payctl in-process, with the binary's environment (no $USER: as in a pod). */
async function inProcess(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runPayctl(args, {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: { MYSQL_URL: payctlUrl },
    interactive: false,
    color: false,
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

function payctl(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      // No $USER: as in a pod.
      { env: { PATH: process.env.PATH ?? '', MYSQL_URL: payctlUrl, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('payctl review', () => {
  it('lists the open reviews', async () => {
    const r = await payctl(['review', 'list', '--json']);
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout) as { id: number; kind: string; resolvedAt: string | null }[];
    expect(listed.map((x) => [x.id, x.kind, x.resolvedAt]).sort()).toEqual(
      [
        [mismatchId, 'mismatch', null],
        [lateId, 'late_payment', null],
      ].sort(),
    );
  });

  it('refuses an answer that does not fit the review, a change without actor or reason, and an unknown id', async () => {
    const kept = await inProcess([
      'review',
      'resolve',
      String(mismatchId),
      '--resolution',
      'kept',
      '--reason',
      'INC-1',
      '--actor',
      'alice',
    ]);
    expect(kept.code).toBe(2);
    expect(kept.stderr).toMatch(/does not answer a mismatch review: one of refunded, not_ours, other/);
    const noActor = await inProcess([
      'review',
      'resolve',
      String(mismatchId),
      '--resolution',
      'refunded',
      '--reason',
      'INC-1',
    ]);
    expect(noActor.code).toBe(2);
    expect(noActor.stderr).toMatch(/--actor/);
    const noReason = await inProcess([
      'review',
      'resolve',
      String(mismatchId),
      '--resolution',
      'refunded',
      '--actor',
      'alice',
    ]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/--reason is required/);
    const badAnswer = await inProcess([
      'review',
      'resolve',
      String(mismatchId),
      '--resolution',
      'maybe',
      '--reason',
      'x',
    ]);
    expect(badAnswer.code).toBe(2);
    const unknown = await inProcess([
      'review',
      'resolve',
      '999999',
      '--resolution',
      'refunded',
      '--reason',
      'INC-1',
      '--actor',
      'alice',
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/review 999999 does not exist/);
    expect((await findReview(admin, mismatchId))?.resolvedAt).toBeNull();
  });

  it('changes nothing on a dry run, then resolves with who and why, audited, once', async () => {
    const dry = await inProcess([
      'review',
      'resolve',
      String(mismatchId),
      '--resolution',
      'refunded',
      '--dry-run',
    ]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(
      /dry run: review \d+ \(mismatch, RECHARGE_ORDER_REVIEW_0001\) would be resolved refunded/,
    );
    expect((await findReview(admin, mismatchId))?.resolvedAt).toBeNull();

    const done = await payctl([
      'review',
      'resolve',
      String(mismatchId),
      '--resolution',
      'refunded',
      '--reason',
      'INC-1234 refunded in the merchant platform',
      '--actor',
      'alice',
    ]);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(await findReview(admin, mismatchId)).toMatchObject({
      resolution: 'refunded',
      resolvedBy: 'alice',
      resolvedReason: 'INC-1234 refunded in the merchant platform',
      resolvedAt: expect.any(Date),
    });
    const [audit] = await admin.query<RowDataPacket[]>(
      "SELECT actor, action, reason, dry_run, out_trade_no, after_state FROM operator_audit_log WHERE action = 'review_resolve'",
    );
    expect(audit).toEqual([
      expect.objectContaining({
        actor: 'alice',
        reason: 'INC-1234 refunded in the merchant platform',
        dry_run: 0,
        out_trade_no: 'RECHARGE_ORDER_REVIEW_0001',
      }),
    ]);

    const again = await inProcess([
      'review',
      'resolve',
      String(mismatchId),
      '--resolution',
      'other',
      '--reason',
      'INC-9',
      '--actor',
      'bob',
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/resolved already \(refunded by alice/);
    expect((await findReview(admin, mismatchId))?.resolvedBy).toBe('alice');

    const open = await inProcess(['review', 'list']);
    expect(open.stdout).toContain('RECHARGE_ORDER_REVIEW_0002');
    expect(open.stdout).not.toContain('RECHARGE_ORDER_REVIEW_0001');
    const all = await inProcess(['review', 'list', '--all']);
    expect(all.stdout).toMatch(/RECHARGE_ORDER_REVIEW_0001.*refunded by alice/);
  });

  it('keeps a late payment with PAYCTL_ACTOR, and then nothing is open', async () => {
    const kept = await payctl(
      [
        'review',
        'resolve',
        String(lateId),
        '--resolution',
        'kept',
        '--reason',
        'INC-1241 paid at the last second',
      ],
      { PAYCTL_ACTOR: 'carol' },
    );
    expect(kept.code).toBe(0);
    expect(kept.stdout).toMatch(/resolved kept by carol/);
    const open = await inProcess(['review', 'list']);
    expect(open.stdout).toBe('no open reviews\n');
  });
});
