import { randomUUID } from 'node:crypto';
import { type PaymentObservation, paymentObservation } from '@paysync/contracts';
import { forDisplay } from '@paysync/orders';
import { completeAudit, insertAudit, orderJournal, orderSnapshots, waitForJournal } from '@paysync/reconcile';
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
 * payctl replay <out_trade_no>: publishes the order's last journaled observation again.
 * By default the very same message (same observation id): the ledger recognises the repeat, changes
 * nothing, and re-publishes what it led to (order-settled, alerts) — the seed's "resend callback".
 * With --reapply, a copy with a new id and source `manual` (actor, reason): the ledger decides again.
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
  const last = (await orderJournal(pool, outTradeNo, 1)).at(-1);
  if (!last) throw new CommandFailedError(`${outTradeNo} has no journaled observation to replay`);
  const original = paymentObservation.parse(last.payload);
  const mode = flags.reapply ? 'reapply' : 'resend';
  const message: PaymentObservation = flags.reapply
    ? paymentObservation.parse({
        ...original,
        observationId: randomUUID(),
        source: 'manual',
        producer: 'payctl',
        actor,
        reason,
      })
    : original;
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

  const before = (await orderSnapshots(pool, [outTradeNo])).get(outTradeNo);
  const auditId = await insertAudit(pool, {
    actor,
    tool: 'payctl',
    action: 'replay',
    reason: reason ?? '',
    dryRun: false,
    outTradeNo,
    before,
    correlationId: message.observationId,
  });
  await (await res.publisher()).observations([message]);
  const applied = flags.reapply
    ? await waitForJournal(pool, [message.observationId], { timeoutMs: waitMs })
    : undefined;
  const after = (await orderSnapshots(pool, [outTradeNo])).get(outTradeNo);
  const entry = applied?.entries[0];
  await completeAudit(pool, auditId, {
    order: after,
    mode,
    observation_id: message.observationId,
    replayed_observation_id: original.observationId,
    ...(entry
      ? {
          ledger: {
            outcome: entry.outcome,
            status_before: entry.statusBefore,
            status_after: entry.statusAfter,
          },
        }
      : {}),
  });
  if (flags.json)
    json(io, { dryRun: false, mode, effect, observationId: message.observationId, auditId, before, after });
  else {
    io.out(
      `published ${message.tradeState} for ${outTradeNo} (${mode}, observation ${message.observationId}); status ${before?.status ?? '-'} → ${after?.status ?? '-'}; audit #${auditId}\n`,
    );
  }
  return 0;
}
