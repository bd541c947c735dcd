import { type SyncOrder, selectRepairOrders } from '@paysync/reconcile';
import { load, syncEnv } from '../config.ts';
import { type ExitCode, UsageError } from '../errors.ts';
import { json } from '../format.ts';
import type { Io } from '../io.ts';
import { operatorSync, renderOperatorSync } from '../operator-sync.ts';
import { actorOf, duration, positiveInt, reasonFor, statusArg, timeArg } from '../options.ts';
import type { Resources } from '../resources.ts';

export type SyncFlags = {
  dryRun?: boolean;
  reason?: string;
  actor?: string;
  qps?: string;
  concurrency?: string;
  wait?: string;
  json?: boolean;
};

function settings(io: Io, flags: SyncFlags) {
  const env = load(syncEnv, io.env);
  return {
    dryRun: flags.dryRun ?? false,
    actor: actorOf(io, flags.actor, flags.dryRun ?? false),
    reason: reasonFor(flags.dryRun ?? false, flags.reason),
    qps: flags.qps ? positiveInt('--qps', flags.qps, 1000) : env.PAYCTL_QPS,
    concurrency: flags.concurrency
      ? positiveInt('--concurrency', flags.concurrency, 64)
      : env.PAYCTL_CONCURRENCY,
    waitMs: flags.wait ? duration('--wait', flags.wait) : env.PAYCTL_LEDGER_WAIT,
    json: flags.json ?? false,
  };
}

async function run(
  res: Resources,
  io: Io,
  orders: SyncOrder[],
  action: 'sync' | 'repair',
  flags: SyncFlags,
  extra: object,
) {
  const s = settings(io, flags);
  const report = await operatorSync(res, io, orders, { action, ...s });
  if (s.json) json(io, { ...extra, ...report });
  else io.out(renderOperatorSync(io, report));
  const failed = report.notSynced.length > 0 || report.rows.some((r) => r.error !== null);
  return failed ? 1 : 0;
}

/** payctl sync <out_trade_no…>: sync these orders now (any status). */
export async function syncCommand(
  res: Resources,
  io: Io,
  outTradeNos: string[],
  flags: SyncFlags,
): Promise<ExitCode> {
  settings(io, flags); // refuse a missing --reason before touching anything
  const { orders, unknown } = await selectRepairOrders(res.pool(), { outTradeNos });
  for (const n of unknown) io.err(`payctl: ${n} is not in the database (skipped)\n`);
  const code = await run(res, io, orders, 'sync', flags, { unknown });
  return unknown.length > 0 ? 1 : code;
}

export type RepairFlags = SyncFlags & { status?: string; from?: string; to?: string; limit?: string };

/** payctl repair --status pending --from … --to …: sync every order in that status created in [from, to). */
export async function repairCommand(res: Resources, io: Io, flags: RepairFlags): Promise<ExitCode> {
  settings(io, flags);
  if (!flags.from || !flags.to)
    throw new UsageError('repair needs --from and --to (the orders’ creation time range)');
  const status = statusArg(flags.status ?? 'pending');
  const from = timeArg('--from', flags.from);
  const to = timeArg('--to', flags.to);
  if (from >= to) throw new UsageError('--from must be before --to');
  const limit = flags.limit ? positiveInt('--limit', flags.limit, 1_000_000) : 10_000;
  const { orders } = await selectRepairOrders(res.pool(), { status, from, to, limit });
  if (!flags.json) {
    io.err(
      `payctl: ${orders.length} ${status} order(s) created in [${from.toISOString()}, ${to.toISOString()})${orders.length === limit ? ` (limit ${limit} reached)` : ''}\n`,
    );
  }
  return run(res, io, orders, 'repair', flags, {
    selection: { status, from: from.toISOString(), to: to.toISOString(), limit, selected: orders.length },
  });
}
