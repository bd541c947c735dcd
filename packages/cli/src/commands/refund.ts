import { systemClock } from '@paysync/contracts';
import { findRefund, listRefunds } from '@paysync/db';
import { acceptRefund, driveStoredRefund } from '@paysync/orders';
import { completeAudit, insertAudit } from '@paysync/reconcile';
import { load, notifyEnv } from '../config.ts';
import { CommandFailedError, type ExitCode, UsageError } from '../errors.ts';
import { json } from '../format.ts';
import type { Io } from '../io.ts';
import { actorOf, positiveInt, reasonFor } from '../options.ts';
import type { Resources } from '../resources.ts';

export type RefundFlags = {
  amount?: string;
  reason?: string;
  merchantRefundNo?: string;
  actor?: string;
  dryRun?: boolean;
  json?: boolean;
};

/**
 * payctl refund <out_trade_no> --amount <fen> --reason <text>: refunds (part of) a paid order the
 * way the order API does — the same checks under the order's lock, the points held, WeChat asked
 * with paysync's notify URL, the refund swept until final — with the actor and reason audited.
 * --dry-run says what would be refunded and held, and changes nothing.
 */
export async function refundCommand(
  res: Resources,
  io: Io,
  outTradeNo: string,
  flags: RefundFlags,
): Promise<ExitCode> {
  const dryRun = flags.dryRun ?? false;
  const actor = actorOf(io, flags.actor);
  const reason = reasonFor(dryRun, flags.reason);
  if (!flags.amount) throw new UsageError('refund needs --amount <fen>');
  const amountFen = positiveInt('--amount', flags.amount, 1_000_000_000);
  const notifyUrl = load(notifyEnv, io.env).WECHATPAY_NOTIFY_URL;
  if (!dryRun && notifyUrl === undefined)
    throw new UsageError('set WECHATPAY_NOTIFY_URL: every refund tells WeChat where to notify its end');
  const pool = res.pool();
  const before = await listRefunds(pool, outTradeNo);
  const audit = await insertAudit(pool, {
    actor,
    tool: 'payctl',
    action: 'refund',
    reason: reason ?? 'dry run',
    dryRun,
    outTradeNo,
    before: {
      refunds: before.map((r) => ({
        out_refund_no: r.outRefundNo,
        status: r.status,
        amount_fen: r.amountFen,
      })),
    },
  });
  const accepted = await acceptRefund(
    pool,
    {
      outTradeNo,
      merchantRefundNo: flags.merchantRefundNo ?? null,
      amountFen,
      // WeChat shows the user at most 80 characters; the audit keeps the whole reason.
      reason: flags.reason?.trim() ? flags.reason.trim().slice(0, 80) : null,
      origin: 'payctl',
      requestedBy: actor,
    },
    { now: new Date(), dryRun },
  );
  let outcome: Record<string, unknown>;
  switch (accepted.kind) {
    case 'not_found':
      await completeAudit(pool, audit, { outcome: 'not_found' });
      throw new CommandFailedError(`${outTradeNo} is not in the database`);
    case 'refused':
      await completeAudit(pool, audit, { outcome: 'refused', code: accepted.refusal.code });
      throw new CommandFailedError(`refund refused (${accepted.refusal.code}): ${accepted.refusal.message}`);
    case 'conflict':
      await completeAudit(pool, audit, { outcome: 'conflict', out_refund_no: accepted.refund.outRefundNo });
      throw new CommandFailedError(
        `--merchant-refund-no is already used by refund ${accepted.refund.outRefundNo} with a different ${accepted.differs}`,
      );
    case 'would_accept':
      outcome = {
        outcome: 'dry_run',
        amount_fen: accepted.amountFen,
        hold_points: accepted.holdPoints,
        refundable_fen: accepted.refundableFen,
      };
      break;
    case 'existing':
    case 'accepted': {
      let refund = accepted.refund;
      if (refund.status === 'processing' && refund.submittedAt === null) {
        const publisher = await res.publisher();
        await driveStoredRefund(
          {
            pool,
            wechat: await res.wechat(),
            publish: (obs) => publisher.observations([obs]),
            notifyUrl: notifyUrl as string,
            producer: 'payctl',
            clock: systemClock,
          },
          refund,
        );
        await publisher.idle();
        refund = (await findRefund(pool, refund.outRefundNo)) ?? refund;
      }
      outcome = {
        outcome: accepted.kind,
        out_refund_no: refund.outRefundNo,
        status: refund.status,
        submitted: refund.submittedAt !== null,
        amount_fen: refund.amountFen,
        hold_points: refund.holdPoints,
        ...(refund.lastError ? { last_error: refund.lastError } : {}),
        ...(refund.failureCode ? { failure_code: refund.failureCode } : {}),
      };
    }
  }
  await completeAudit(pool, audit, outcome);
  if (flags.json) json(io, { out_trade_no: outTradeNo, dry_run: dryRun, ...outcome });
  else {
    const lines = Object.entries(outcome).map(([k, v]) => `  ${k}: ${String(v)}`);
    io.out(`${dryRun ? 'would refund' : 'refund'} ${outTradeNo}\n${lines.join('\n')}\n`);
  }
  return outcome.status === 'rejected' ? 1 : 0;
}
