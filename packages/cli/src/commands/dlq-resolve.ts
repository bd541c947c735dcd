import { DLQ_HANDLED_GROUP, outTradeNo } from '@paysync/contracts';
import type { Pool } from '@paysync/db';
import { fetchDlqPartitions } from '@paysync/kafka';
import { completeAudit, insertAudit } from '@paysync/reconcile';
import type { Kafka } from 'kafkajs';
import { CommandFailedError } from '../errors.ts';
import type { DlqEntry, DlqSnapshot } from './dlq-read.ts';

/** A partition's handled offset moving forward: every message below `to` becomes handled. */
export type HandledMove = { partition: number; from: bigint; to: bigint };

export type ResolvePlan = {
  /** Unhandled entries that become handled. */
  resolve: DlqEntry[];
  /** Named entries that already are: nothing to do. */
  already: DlqEntry[];
  /** Messages that are not dead letters by the contract, below a new handled offset: handled with them. */
  unreadable: string[];
  moves: HandledMove[];
};

/**
 * Kafka keeps one handled offset per partition, so marking p:o handled marks every earlier entry of
 * partition p handled too. Refused unless those earlier unhandled entries are named as well.
 */
export class UnnamedEarlierEntriesError extends CommandFailedError {
  readonly blocking: readonly DlqEntry[];

  constructor(blocking: readonly DlqEntry[]) {
    super(
      `a DLQ partition has one handled offset: marking an entry handled marks every earlier entry of its partition handled too. ` +
        `These earlier entries are not handled yet and were not named: ${blocking.map((e) => e.id).join(', ')}. ` +
        'Name them too (after dealing with them), or pass --all.',
    );
    this.blocking = blocking;
  }
}

/**
 * What marking `selected` handled changes. `all`: every partition's handled offset moves to the end
 * seen when the DLQ was read (unreadable messages included), without the earlier-entries check.
 */
export function planResolve(
  snapshot: DlqSnapshot,
  selected: readonly DlqEntry[],
  opts: { all: boolean },
): ResolvePlan {
  if (opts.all) {
    const moves = snapshot.partitions
      .filter((p) => p.high > p.handled)
      .map((p) => ({ partition: p.partition, from: p.handled, to: p.high }));
    return {
      resolve: snapshot.entries.filter((e) => !e.handled),
      already: [],
      unreadable: snapshot.unreadable.filter((id) => movedPast(id, moves)),
      moves,
    };
  }
  const named = new Map(selected.map((e) => [e.id, e]));
  const resolve = [...named.values()].filter((e) => !e.handled);
  const already = [...named.values()].filter((e) => e.handled);
  const moves: HandledMove[] = [];
  const blocking: DlqEntry[] = [];
  for (const p of snapshot.partitions) {
    const mine = resolve.filter((e) => e.partition === p.partition);
    if (mine.length === 0) continue;
    const to = mine.reduce((max, e) => (BigInt(e.offset) >= max ? BigInt(e.offset) + 1n : max), 0n);
    blocking.push(
      ...snapshot.entries.filter(
        (e) => e.partition === p.partition && !e.handled && BigInt(e.offset) < to && !named.has(e.id),
      ),
    );
    moves.push({ partition: p.partition, from: p.handled, to });
  }
  if (blocking.length > 0) throw new UnnamedEarlierEntriesError(blocking);
  return { resolve, already, unreadable: snapshot.unreadable.filter((id) => movedPast(id, moves)), moves };
}

/** The message `partition:offset` is not handled yet and a move marks it handled. */
function movedPast(id: string, moves: readonly HandledMove[]): boolean {
  const [partition, offset] = id.split(':').map(BigInt) as [bigint, bigint];
  return moves.some((m) => BigInt(m.partition) === partition && offset >= m.from && offset < m.to);
}

/** The handled offsets are set by joining DLQ_HANDLED_GROUP: nothing else may be in it meanwhile. */
export class HandledGroupBusyError extends CommandFailedError {}

/**
 * Commits DLQ_HANDLED_GROUP's offsets to the plan's moves, never backwards (the offsets are read
 * again first: another operator may have moved them since the DLQ was read). Returns the moves made.
 */
export async function commitHandled(
  kafka: Kafka,
  topic: string,
  moves: readonly HandledMove[],
): Promise<HandledMove[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const now = new Map((await fetchDlqPartitions(admin, topic)).map((p) => [p.partition, p.handled]));
    const forward = moves
      .map((m) => ({ ...m, from: now.get(m.partition) ?? m.from }))
      .filter((m) => m.to > m.from);
    if (forward.length === 0) return [];
    const busy = () =>
      new HandledGroupBusyError(
        `consumer group ${DLQ_HANDLED_GROUP} has members, so its offsets cannot be set: another payctl dlq resolve ` +
          'may be running (try again), or something consumes with that group (stop it: only payctl may use it)',
      );
    const [group] = (await admin.describeGroups([DLQ_HANDLED_GROUP])).groups;
    if (group && group.state !== 'Empty' && group.state !== 'Dead') throw busy();
    try {
      await admin.setOffsets({
        groupId: DLQ_HANDLED_GROUP,
        topic,
        partitions: forward.map((m) => ({ partition: m.partition, offset: m.to.toString() })),
      });
    } catch (err) {
      if (err instanceof Error && /must have no running instances/.test(err.message)) throw busy();
      throw err;
    }
    return forward;
  } finally {
    await admin.disconnect();
  }
}

export type Handling = {
  kafka: Kafka;
  pool: Pool;
  topic: string;
  actor: string;
  reason: string;
  correlationId: string;
};

/**
 * Marks the plan's entries handled: one dlq_resolve audit record per entry inserted before (so no
 * change is made without one), the offsets committed, the records completed with the new offset.
 */
export async function markHandled(h: Handling, plan: ResolvePlan): Promise<HandledMove[]> {
  const marked = [
    ...plan.resolve.map((e) => {
      const no = e.observation?.outTradeNo ?? e.outTradeNo;
      return {
        partition: e.partition,
        outTradeNo: no !== null && outTradeNo.safeParse(no).success ? no : undefined,
        before: { dlq: e.id, reason: e.reason, detail: e.reasonDetail },
      };
    }),
    ...plan.unreadable.map((id) => ({
      partition: Number(id.split(':')[0]),
      outTradeNo: undefined,
      before: { dlq: id, reason: 'unreadable', detail: 'not a dead letter by the contract' },
    })),
  ];
  const audits: { partition: number; id: number }[] = [];
  for (const m of marked) {
    const id = await insertAudit(h.pool, {
      actor: h.actor,
      tool: 'payctl',
      action: 'dlq_resolve',
      reason: h.reason,
      dryRun: false,
      outTradeNo: m.outTradeNo,
      before: m.before,
      correlationId: h.correlationId,
    });
    audits.push({ partition: m.partition, id });
  }
  const moved = await commitHandled(h.kafka, h.topic, plan.moves);
  for (const { partition, id } of audits) {
    await completeAudit(h.pool, id, {
      handled: true,
      group: DLQ_HANDLED_GROUP,
      topic: h.topic,
      partition,
      handledOffset: plan.moves.find((m) => m.partition === partition)?.to.toString() ?? null,
    });
  }
  return moved;
}
