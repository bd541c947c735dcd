import { randomUUID } from 'node:crypto';
import { DLQ_HANDLED_GROUP } from '@paysync/contracts';
import { completeAudit, insertAudit } from '@paysync/reconcile';
import { CommandFailedError, type ExitCode, UsageError } from '../errors.ts';
import { iso, json, table } from '../format.ts';
import { type Io, paint } from '../io.ts';
import { actorOf, positiveInt, reasonFor } from '../options.ts';
import type { Resources } from '../resources.ts';
import { type DlqEntry, type DlqSnapshot, readDlq } from './dlq-read.ts';
import { type HandledMove, markHandled, planResolve, type ResolvePlan } from './dlq-resolve.ts';

/** payctl dlq list */
export async function dlqListCommand(
  res: Resources,
  io: Io,
  flags: { limit?: string; json?: boolean; unhandled?: boolean },
): Promise<ExitCode> {
  const limit = flags.limit ? positiveInt('--limit', flags.limit, 100_000) : 100;
  const snapshot = await readDlq(res.kafka(), res.topics().paymentObservationsDlq);
  const all = snapshot.entries;
  const unhandled = all.filter((e) => !e.handled);
  const candidates = flags.unhandled ? unhandled : all;
  const shown = candidates.slice(-limit);
  if (flags.json) {
    json(io, {
      total: all.length,
      unhandled: unhandled.length,
      entries: shown.map(({ observation: _o, ...e }) => e),
    });
    return 0;
  }
  const which = flags.unhandled ? 'unhandled ' : '';
  const part =
    shown.length < candidates.length
      ? `, the last ${shown.length} ${which}shown`
      : flags.unhandled
        ? ', only those shown'
        : '';
  io.out(`${all.length} dead-lettered observation(s), ${unhandled.length} unhandled${part}\n`);
  if (snapshot.unreadable.length > 0) {
    io.out(
      `${snapshot.unreadable.length} message(s) are not dead letters by the contract (not listed): ${snapshot.unreadable.slice(0, 10).join(', ')}\n`,
    );
  }
  if (shown.length > 0) {
    io.out(
      table(
        ['id', 'failed at', 'reason', 'out_trade_no', 'retriable', 'handled', 'detail'],
        shown.map((e) => [
          e.id,
          iso(e.failedAt),
          e.reason,
          e.outTradeNo ?? '-',
          e.retriable ? 'yes' : paint(io, 'red', 'no'),
          e.handled ? 'yes' : paint(io, 'yellow', 'no'),
          e.reasonDetail.slice(0, 80),
        ]),
      ),
    );
  }
  return 0;
}

/** Checked before anything is read: the entries are named as partition:offset, or --all. */
function checkIds(ids: readonly string[], all: boolean | undefined, verb: string): void {
  if (!all && ids.length === 0)
    throw new UsageError(`name the entries to ${verb} (partition:offset, from dlq list) or pass --all`);
  const bad = ids.filter((id) => !/^\d{1,9}:\d{1,19}$/.test(id));
  if (bad.length > 0) throw new UsageError(`not a DLQ entry id (partition:offset): ${bad.join(', ')}`);
}

function select(snapshot: DlqSnapshot, ids: readonly string[], all: boolean | undefined): DlqEntry[] {
  const byId = new Map(snapshot.entries.map((e) => [e.id, e]));
  const unknown = ids.filter((id) => !byId.has(id));
  if (unknown.length > 0) throw new CommandFailedError(`not in the DLQ: ${unknown.join(', ')}`);
  return all ? snapshot.entries : [...new Set(ids)].map((id) => byId.get(id)!);
}

type Row = { id: string; outTradeNo: string | null; result: string };

function printMoves(io: Io, moves: readonly HandledMove[], dryRun: boolean): void {
  for (const m of moves) {
    io.out(
      `partition ${m.partition}: ${dryRun ? 'would mark' : 'marked'} handled every entry below offset ${m.to} (was ${m.from})\n`,
    );
  }
}

const movesJson = (moves: readonly HandledMove[]) =>
  moves.map((m) => ({ partition: m.partition, from: m.from.toString(), to: m.to.toString() }));

/**
 * payctl dlq retry <id…> | --all: publishes the original observation again (same observation id, so
 * the ledger applies it at most once, however often it is retried), with an audit record each.
 * With --resolve, the entries published are then marked handled (see dlq resolve).
 */
export async function dlqRetryCommand(
  res: Resources,
  io: Io,
  ids: string[],
  flags: {
    all?: boolean;
    reason?: string;
    actor?: string;
    dryRun?: boolean;
    json?: boolean;
    resolve?: boolean;
  },
): Promise<ExitCode> {
  const dryRun = flags.dryRun ?? false;
  const actor = actorOf(io, flags.actor, dryRun);
  const reason = reasonFor(dryRun, flags.reason);
  checkIds(ids, flags.all, 'retry');
  const topic = res.topics().paymentObservationsDlq;
  const snapshot = await readDlq(res.kafka(), topic);
  const selected = select(snapshot, ids, flags.all);
  const publishable = selected.filter((e) => e.retriable && e.observation);
  // Checked before anything is published: entries that cannot be retried are not marked handled here.
  const plan: ResolvePlan | undefined = flags.resolve
    ? planResolve(snapshot, publishable, { all: false })
    : undefined;
  const correlationId = randomUUID();
  const results: Row[] = [];
  for (const e of selected) {
    if (!e.retriable || !e.observation) {
      results.push({ id: e.id, outTradeNo: e.outTradeNo, result: 'skipped: not a valid observation' });
      continue;
    }
    if (dryRun) {
      results.push({
        id: e.id,
        outTradeNo: e.outTradeNo,
        result: plan && !e.handled ? 'would publish again, mark handled' : 'would publish again',
      });
      continue;
    }
    const auditId = await insertAudit(res.pool(), {
      actor,
      tool: 'payctl',
      action: 'dlq_retry',
      reason: reason ?? '',
      dryRun: false,
      outTradeNo: e.observation.outTradeNo,
      before: { dlq: e.id, reason: e.reason, detail: e.reasonDetail },
      correlationId,
    });
    // Validated against today's contract when read; published as it was (same observation id).
    await (await res.publisher()).observations([e.observation]);
    await completeAudit(res.pool(), auditId, { republished_observation_id: e.observation.observationId });
    results.push({ id: e.id, outTradeNo: e.outTradeNo, result: 'published again' });
  }
  let moves: HandledMove[] = plan?.moves ?? [];
  if (plan && !dryRun && plan.moves.length > 0) {
    moves = await markHandled(
      { kafka: res.kafka(), pool: res.pool(), topic, actor, reason: reason ?? '', correlationId },
      plan,
    );
    const marked = new Set(plan.resolve.map((e) => e.id));
    for (const r of results) {
      if (r.result === 'published again')
        r.result = marked.has(r.id) ? 'published again, marked handled' : 'published again (already handled)';
    }
  }
  if (flags.json)
    json(io, {
      dryRun,
      correlationId: dryRun ? null : correlationId,
      results,
      ...(plan ? { handledGroup: DLQ_HANDLED_GROUP, moves: movesJson(moves) } : {}),
    });
  else {
    if (dryRun) io.out(`${paint(io, 'bold', 'DRY RUN')}: nothing was published or written.\n`);
    io.out(
      table(
        ['id', 'out_trade_no', 'result'],
        results.map((r) => [r.id, r.outTradeNo ?? '-', r.result]),
      ),
    );
    printMoves(io, moves, dryRun);
  }
  return results.some((r) => r.result.startsWith('skipped')) ? 1 : 0;
}

/**
 * payctl dlq resolve <id…> | --all: marks dead letters handled — DLQ_HANDLED_GROUP's offset on the
 * entry's partition moves past it — which is what clears the ledger's paysync_ledger_dlq_messages
 * gauge. One dlq_resolve audit record per entry. Already handled entries are reported, not touched.
 */
export async function dlqResolveCommand(
  res: Resources,
  io: Io,
  ids: string[],
  flags: { all?: boolean; reason?: string; actor?: string; dryRun?: boolean; json?: boolean },
): Promise<ExitCode> {
  const dryRun = flags.dryRun ?? false;
  const actor = actorOf(io, flags.actor, dryRun);
  const reason = reasonFor(dryRun, flags.reason);
  checkIds(ids, flags.all, 'resolve');
  if (flags.all && ids.length > 0) throw new UsageError('name entries or pass --all, not both');
  const topic = res.topics().paymentObservationsDlq;
  const snapshot = await readDlq(res.kafka(), topic);
  const selected = select(snapshot, ids, flags.all);
  const plan = planResolve(snapshot, selected, { all: flags.all ?? false });
  const correlationId = randomUUID();
  const moves =
    dryRun || plan.moves.length === 0
      ? plan.moves
      : await markHandled(
          { kafka: res.kafka(), pool: res.pool(), topic, actor, reason: reason ?? '', correlationId },
          plan,
        );
  const results: Row[] = [
    ...plan.resolve.map((e) => ({
      id: e.id,
      outTradeNo: e.outTradeNo,
      result: dryRun ? 'would mark handled' : 'marked handled',
    })),
    ...plan.unreadable.map((id) => ({
      id,
      outTradeNo: null,
      result: `${dryRun ? 'would mark' : 'marked'} handled (not a dead letter by the contract)`,
    })),
    ...plan.already.map((e) => ({ id: e.id, outTradeNo: e.outTradeNo, result: 'already handled' })),
  ];
  const left = snapshot.entries.filter((e) => !e.handled).length - plan.resolve.length;
  if (flags.json) {
    json(io, {
      dryRun,
      correlationId: dryRun || moves.length === 0 ? null : correlationId,
      handledGroup: DLQ_HANDLED_GROUP,
      results,
      moves: movesJson(moves),
      unhandledLeft: left,
    });
    return 0;
  }
  if (dryRun) io.out(`${paint(io, 'bold', 'DRY RUN')}: nothing was marked or written.\n`);
  if (results.length > 0)
    io.out(
      table(
        ['id', 'out_trade_no', 'result'],
        results.map((r) => [r.id, r.outTradeNo ?? '-', r.result]),
      ),
    );
  else io.out('nothing to resolve: every dead letter is handled\n');
  printMoves(io, moves, dryRun);
  io.out(`${left} unhandled dead letter(s) ${dryRun ? 'would be ' : ''}left\n`);
  return 0;
}
