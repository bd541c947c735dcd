import {
  type BillRunSummary,
  billDifferences,
  billRun,
  type DifferenceRecord,
  insertAudit,
  listBillRuns,
  resolveDifference,
  runTradeBill,
} from '@paysync/reconcile';
import { addDays, beijingDay, fenToYuan } from '@paysync/wechatpay';
import { CommandFailedError, type ExitCode, UsageError } from '../errors.ts';
import { iso, json, table } from '../format.ts';
import type { Io } from '../io.ts';
import { actorOf, positiveInt, reasonFor } from '../options.ts';
import type { Resources } from '../resources.ts';

export type BillFlags = {
  json?: boolean;
  actor?: string;
  reason?: string;
  holdDays?: string;
  limit?: string;
  open?: boolean;
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function dateArg(value: string | undefined, now = new Date()): string {
  if (value === undefined || value === 'yesterday') return addDays(beijingDay(now), -1);
  if (!DATE.test(value) || Number.isNaN(Date.parse(value)))
    throw new UsageError(`bill date: expected YYYY-MM-DD (a Beijing day) or "yesterday", got "${value}"`);
  return value;
}

const money = (fen: number | null | undefined) =>
  fen === null || fen === undefined ? '-' : `¥${fenToYuan(fen)}`;

function renderSummary(s: BillRunSummary): string {
  const found = Object.entries(s.differences).filter(([, n]) => n > 0);
  const lines = [
    `bill ${s.billDate} (${s.mchid}): ${s.status}${s.error ? ` — ${s.error.code}: ${s.error.message}` : ''}`,
  ];
  if (s.totals)
    lines.push(
      `rows ${s.totals.rows} (payments ${s.totals.payments}, refunds ${s.totals.refunds}, revoked ${s.totals.revoked}); ` +
        `orders ${money(s.totals.orderTotal)}, refunds ${money(s.totals.refundTotal)}, fees ${money(s.totals.feeTotal)}`,
    );
  if (s.file)
    lines.push(
      `file SHA-1 ${s.file.sha1}, ${s.file.size} bytes${s.file.archivePath ? `, kept at ${s.file.archivePath}` : ''}`,
    );
  lines.push(
    found.length === 0
      ? 'differences: none'
      : `differences: ${found.map(([c, n]) => `${c} ${n}`).join(', ')} (critical ${s.critical})`,
  );
  if (s.held.resolved + s.held.escalated > 0)
    lines.push(`held from earlier days: ${s.held.resolved} found, ${s.held.escalated} escalated`);
  if (s.actions.done + s.actions.pending + s.actions.failed > 0)
    lines.push(`actions: ${s.actions.done} done, ${s.actions.pending} pending, ${s.actions.failed} failed`);
  return `${lines.join('\n')}\n`;
}

function differenceRows(ds: readonly DifferenceRecord[]): string {
  return table(
    ['id', 'day', 'class', 'severity', 'out_trade_no', 'out_refund_no', 'action', 'status'],
    ds.map((d) => [
      String(d.id),
      d.billDate,
      d.class,
      d.severity,
      d.outTradeNo ?? '-',
      d.outRefundNo ?? '-',
      `${d.action}${d.actionStatus === 'none' ? '' : ` (${d.actionStatus})`}`,
      d.status === 'resolved' ? `resolved: ${d.resolution} by ${d.resolvedBy}` : d.status,
    ]),
  );
}

/** payctl bill run [date]: reconcile one Beijing day with WeChat Pay's trade bill. */
export async function billRunCommand(
  res: Resources,
  io: Io,
  date: string | undefined,
  flags: BillFlags,
): Promise<ExitCode> {
  const billDate = dateArg(date);
  const holdDays = flags.holdDays ? positiveInt('--hold-days', flags.holdDays, 7) : 1;
  const actor = actorOf(io, flags.actor);
  const pool = res.pool();
  // The client signs for exactly one merchant: the bill is that merchant's.
  const client = await res.wechat();
  const summary = await runTradeBill(
    {
      pool,
      client,
      mchid: client.mchid,
      sync: {
        wechat: client,
        publisher: await res.publisher(),
        origin: { producer: 'payctl', actor, reason: `payctl bill run ${billDate}` },
      },
    },
    { billDate, holdDays },
  );
  if (flags.json) json(io, summary);
  else io.out(renderSummary(summary));
  if (summary.status === 'locked') io.err('payctl: another run of this day holds the lock; nothing done\n');
  return summary.exitCode === 1 || summary.critical > 0 ? 1 : 0;
}

/** payctl bill show [date]: the day's run and its differences. */
export async function billShowCommand(
  res: Resources,
  io: Io,
  date: string | undefined,
  flags: BillFlags,
): Promise<ExitCode> {
  const billDate = dateArg(date);
  const pool = res.pool();
  const run = await billRun(pool, { billDate });
  if (!run) throw new CommandFailedError(`no bill run for ${billDate}`);
  const differences = await billDifferences(pool, { mchid: run.mchid, billDate });
  if (flags.json) {
    json(io, { run, differences });
    return 0;
  }
  io.out(
    [
      `bill ${run.billDate} (${run.mchid}): ${run.status} after ${run.attempts} attempt(s), finished ${iso(run.finishedAt)}`,
      run.errorCode ? `error ${run.errorCode}: ${run.errorDetail ?? ''}` : undefined,
      run.rows === null
        ? undefined
        : `rows ${run.rows} (payments ${run.paymentRows}, refunds ${run.refundRows}, revoked ${run.revokedRows}); orders ${money(run.orderTotal)}, refunds ${money(run.refundTotal)}, fees ${money(run.feeTotal)}`,
      run.fileSha1
        ? `file SHA-1 ${run.fileSha1} from ${run.fileLocation}${run.archivePath ? `, kept at ${run.archivePath}` : ''}`
        : undefined,
      '',
    ]
      .filter((l) => l !== undefined)
      .join('\n'),
  );
  io.out(differences.length === 0 ? 'no differences\n' : differenceRows(differences));
  return 0;
}

/** payctl bill list: the last runs, or (--open) every difference not resolved. */
export async function billListCommand(res: Resources, io: Io, flags: BillFlags): Promise<ExitCode> {
  const limit = flags.limit ? positiveInt('--limit', flags.limit, 10_000) : 30;
  const pool = res.pool();
  if (flags.open) {
    const open = await billDifferences(pool, { openOnly: true, limit });
    if (flags.json) json(io, open);
    else io.out(open.length === 0 ? 'no open differences\n' : differenceRows(open));
    return 0;
  }
  const runs = await listBillRuns(pool, limit);
  if (flags.json) json(io, runs);
  else
    io.out(
      table(
        ['day', 'mchid', 'status', 'attempts', 'rows', 'differences', 'critical', 'finished'],
        runs.map((r) => [
          r.billDate,
          r.mchid,
          r.status,
          String(r.attempts),
          r.rows === null ? '-' : String(r.rows),
          r.differences === null ? '-' : String(r.differences),
          r.criticalDifferences === null ? '-' : String(r.criticalDifferences),
          iso(r.finishedAt),
        ]),
      ),
    );
  return 0;
}

/** payctl bill resolve <id> --reason: a person handled this difference. */
export async function billResolveCommand(
  res: Resources,
  io: Io,
  id: string,
  flags: BillFlags,
): Promise<ExitCode> {
  const reason = reasonFor(false, flags.reason) as string;
  const actor = actorOf(io, flags.actor);
  const n = positiveInt('difference id', id, Number.MAX_SAFE_INTEGER);
  const pool = res.pool();
  const resolved = await resolveDifference(pool, n, { actor, reason }, new Date());
  await insertAudit(pool, {
    actor,
    tool: 'payctl',
    action: 'bill_resolve',
    reason,
    dryRun: false,
    outTradeNo: resolved.outTradeNo ?? undefined,
    after: { difference: resolved.id, class: resolved.class, bill_date: resolved.billDate },
  });
  if (flags.json) json(io, resolved);
  else io.out(`difference ${resolved.id} (${resolved.class}, ${resolved.billDate}) resolved by ${actor}\n`);
  return 0;
}
