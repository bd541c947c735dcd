// The demo's trade-bill phase: the T+1 reconciliation of the demo's day (Beijing), run with payctl
// as a person or the daily CronJob would, after two differences were planted at the sandbox:
//
//   - a refund made in the merchant platform (not through paysync) whose notification WeChat never
//     sends: only the bill shows it → refund_not_reversed → the run queries the refund and the ledger
//     applies WeChat's signed answer (the points are reversed once);
//   - a payment row WeChat has for an order paysync never created (the sandbox's extraPayments
//     fault) → unknown_order, critical, reported.
//
// The day is then reconciled again with the fault gone: the two no longer differ and are resolved as
// cleared (re-running a day is idempotent and never acts twice). A database that outlived an
// earlier demo's sandbox (it keeps no orders across restarts) also shows that day's earlier orders
// as missing_at_wechat (held, a warning): the demo lists only its own two.
import { execFile } from 'node:child_process';
import type { Pool, RowDataPacket } from '@paysync/db';

export type BillPhase = {
  billDate: string;
  /** The refund made in the merchant platform, and the order it refunds. */
  platformRefund: { outRefundNo: string; outTradeNo: string; amount: number } | undefined;
  first: PayctlRun;
  show: PayctlRun;
  /** The ledger reversed the platform refund after the run's query. */
  reversed: boolean;
  again: PayctlRun;
  ok: boolean;
};

type PayctlRun = { args: string[]; exitCode: number; output: string };

type ShownDifference = {
  class: string;
  refKey: string;
  actionStatus: string;
  status: string;
  resolution: string | null;
};

/** The day's differences as `payctl bill show --json` gives them. */
async function shown(path: string, billDate: string): Promise<ShownDifference[]> {
  const r = await payctl(path, ['bill', 'show', billDate, '--json']);
  try {
    return (JSON.parse(r.output) as { differences: ShownDifference[] }).differences;
  } catch {
    return [];
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function payctl(path: string, args: string[]): Promise<PayctlRun> {
  return new Promise((resolve) =>
    execFile(path, args, { timeout: 120_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      const exitCode = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ args, exitCode, output: `${stdout}${stderr}`.trimEnd() });
    }),
  );
}

async function control(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`sandbox ${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Today in Beijing, YYYY-MM-DD: the demo's orders were paid and refunded today. */
export function beijingToday(now = Date.now()): string {
  return new Date(now + 8 * 3600_000).toISOString().slice(0, 10);
}

export async function billPhase(opts: {
  pool: Pool;
  sandboxUrl: string;
  payctl: string;
  /** Orders of this demo paid here and not refunded: one gets the merchant-platform refund. */
  candidates: string[];
  run: string;
  deadlineMs: number;
}): Promise<BillPhase> {
  const { pool, sandboxUrl } = opts;
  const billDate = beijingToday();
  const [[order]] = await pool.query<RowDataPacket[]>(
    "SELECT out_trade_no, amount_total FROM payment_orders WHERE out_trade_no IN (?) AND status = 'paid' LIMIT 1",
    [opts.candidates.length > 0 ? opts.candidates : ['']],
  );
  let platformRefund: BillPhase['platformRefund'];
  if (order) {
    const outRefundNo = `MCHPLATFORM-${opts.run}`;
    const amount = Math.min(100, Number(order.amount_total));
    await control(sandboxUrl, 'POST', `/sandbox/orders/${order.out_trade_no}/refund`, {
      outRefundNo,
      amount,
      reason: '商户平台退款',
      notify: false,
    });
    platformRefund = { outRefundNo, outTradeNo: String(order.out_trade_no), amount };
    // The bill shows the refund as it stands: wait until WeChat (the sandbox) finished it.
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      const r = (await control(sandboxUrl, 'GET', `/sandbox/refunds/${outRefundNo}`)) as { status?: string };
      if (r.status === 'SUCCESS') break;
      await sleep(500);
    }
  }

  const before = (await control(sandboxUrl, 'GET', '/sandbox/bill/faults')) as { extraPayments: number };
  const run = ['bill', 'run', billDate, '--actor', 'paysync-demo'];
  let first: PayctlRun;
  try {
    await control(sandboxUrl, 'POST', '/sandbox/bill/faults', { extraPayments: 1 });
    first = await payctl(opts.payctl, run);
  } finally {
    await control(sandboxUrl, 'POST', '/sandbox/bill/faults', { extraPayments: before.extraPayments });
  }
  // The sandbox's extra row: `SANDBOXEXTRA<yyyymmdd>000000`.
  const extra = `SANDBOXEXTRA${billDate.replaceAll('-', '')}000000`;
  const planted = (ds: ShownDifference[]) => ({
    refund: ds.find((d) => d.class === 'refund_not_reversed' && d.refKey === platformRefund?.outRefundNo),
    extra: ds.find((d) => d.class === 'unknown_order' && d.refKey === extra),
  });

  // The run published WeChat's signed answer about the refund: the ledger applies it.
  const ran = first.exitCode === 0 || first.exitCode === 1;
  let reversed = platformRefund === undefined;
  const deadline = Date.now() + opts.deadlineMs;
  while (ran && !reversed && Date.now() < deadline) {
    const [[row]] = await pool.query<RowDataPacket[]>(
      "SELECT status FROM payment_refunds WHERE out_refund_no = ? AND status = 'succeeded'",
      [platformRefund?.outRefundNo],
    );
    reversed = row !== undefined;
    if (!reversed) await sleep(1000);
  }
  const found = planted(await shown(opts.payctl, billDate));
  const show = ownRows(await payctl(opts.payctl, ['bill', 'show', billDate]), [
    extra,
    platformRefund?.outRefundNo ?? extra,
  ]);
  const again = await payctl(opts.payctl, run);
  const after = planted(await shown(opts.payctl, billDate));
  const ok =
    ran &&
    (platformRefund === undefined || found.refund?.actionStatus === 'done') &&
    found.extra !== undefined &&
    reversed &&
    (again.exitCode === 0 || again.exitCode === 1) &&
    (platformRefund === undefined || after.refund?.resolution === 'cleared') &&
    after.extra?.resolution === 'cleared';
  return { billDate, platformRefund, first, show, reversed, again, ok };
}

/** The table rows of the planted differences only (rows start with the difference id). */
function ownRows(run: PayctlRun, keys: string[]): PayctlRun {
  const lines = run.output.split('\n');
  const kept = lines.filter((l) => !/^\d/.test(l) || keys.some((k) => l.includes(k)));
  const left = lines.length - kept.length;
  return {
    ...run,
    output: `${kept.join('\n')}${left > 0 ? `\n(${left} more row(s) of earlier activity that day not shown)` : ''}`,
  };
}
