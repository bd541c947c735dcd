import { forDisplay } from '@paysync/orders';
import { auditWriter, replayLastObservation } from '@paysync/reconcile';
import { load, syncEnv } from '../config.ts';
import { CommandFailedError, type ExitCode } from '../errors.ts';
import { json } from '../format.ts';
import { type Io, paint } from '../io.ts';
import { actorOf, duration, reasonFor } from '../options.ts';
import type { Resources } from '../resources.ts';

export type ReplayFlags = {
  reason?: string;
  actor?: string;
  dryRun?: boolean;
  reapply?: boolean;
  wait?: string;
  json?: boolean;
};

/**
 * payctl replay <out_trade_no>: `replayLastObservation` — the order's last journaled observation
 * published again: by default the very same message (resend: the ledger changes nothing and
 * re-publishes order-settled and its alerts, as WeChat resending its notification would); with
 * --reapply a new manual copy (actor, reason) the ledger decides on again.
 */
export async function replayCommand(
  res: Resources,
  io: Io,
  outTradeNo: string,
  flags: ReplayFlags,
): Promise<ExitCode> {
  const dryRun = flags.dryRun ?? false;
  const actor = actorOf(io, flags.actor, dryRun);
  const reason = reasonFor(dryRun, flags.reason);
  const waitMs = flags.wait ? duration('--wait', flags.wait) : load(syncEnv, io.env).PAYCTL_LEDGER_WAIT;
  const pool = res.pool();
  const mode = flags.reapply ? 'reapply' : 'resend';
  const replay = await replayLastObservation(
    {
      pool,
      publisher: res.lazyPublisher(),
      audit: auditWriter(pool),
      ledgerWaitMs: waitMs,
    },
    outTradeNo,
    { mode, dryRun, actor, reason, tool: 'payctl', producer: 'payctl' },
  );
  if (!replay.found) throw new CommandFailedError(`${outTradeNo} has no journaled observation to replay`);
  const { message } = replay;
  const effect = flags.reapply
    ? 'a new manual observation: the ledger applies it as if just seen'
    : 'the same observation again: the ledger changes nothing and re-publishes order-settled and its alerts';

  if (dryRun) {
    if (flags.json) json(io, { dryRun: true, mode, effect, observation: forDisplay(message) });
    else {
      io.out(
        `${paint(io, 'bold', 'DRY RUN')}: would publish ${message.tradeState} (${message.source}, observed ${message.observedAt}) for ${outTradeNo} — ${effect}.\n`,
      );
    }
    return 0;
  }
  const { before, after, auditId } = replay;
  if (flags.json)
    json(io, { dryRun: false, mode, effect, observationId: message.observationId, auditId, before, after });
  else {
    io.out(
      `published ${message.tradeState} for ${outTradeNo} (${mode}, observation ${message.observationId}); status ${before?.status ?? '-'} → ${after?.status ?? '-'}; audit #${auditId}\n`,
    );
  }
  return 0;
}
