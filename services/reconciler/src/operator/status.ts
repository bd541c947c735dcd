import type { Condition, PaymentRepairStatus, RepairCounts } from './resource.ts';

/**
 * Sets a condition, keeping lastTransitionTime when its status does not change (the Kubernetes
 * convention: the time says when it last flipped, not when it was last written).
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const previous = i >= 0 ? list[i] : undefined;
  const condition: Condition = {
    ...next,
    lastTransitionTime:
      previous && previous.status === next.status ? previous.lastTransitionTime : now.toISOString(),
  };
  if (i >= 0) list[i] = condition;
  else list.push(condition);
  return list;
}

/** Status of a repair that has just been claimed by `identity`. */
export function runningStatus(
  previous: PaymentRepairStatus | undefined,
  generation: number,
  identity: string,
  now: Date,
  takeover: string | undefined,
): PaymentRepairStatus {
  return {
    phase: 'Running',
    observedGeneration: generation,
    executedBy: identity,
    startedAt: now.toISOString(),
    message: takeover ? `restarted: ${takeover}` : 'running',
    conditions: setCondition(
      previous?.conditions,
      {
        type: 'Progressing',
        status: 'True',
        reason: takeover ? 'Restarted' : 'Started',
        message: takeover ?? `executing on ${identity}`,
        observedGeneration: generation,
      },
      now,
    ),
  };
}

/** Why a finished repair failed, or undefined when it succeeded. */
export function failureOf(counts: RepairCounts): { reason: string; message: string } | undefined {
  if (counts.notSynced > 0) {
    return {
      reason: 'WeChatPayUnavailable',
      message: `${counts.notSynced} order(s) not synced: WeChat Pay's circuit breaker opened (or the operator stopped)`,
    };
  }
  if (counts.errors > 0) return { reason: 'OrdersFailed', message: `${counts.errors} order(s) failed` };
  if (counts.unknown > 0) {
    return { reason: 'OrdersNotFound', message: `${counts.unknown} out_trade_no(s) are not in the database` };
  }
  return undefined;
}

export function summary(counts: RepairCounts, dryRun: boolean): string {
  const verb = dryRun ? 'would change' : 'changed';
  return `${counts.selected} selected, ${counts.synced} synced, ${verb} ${counts.changed}, paid ${counts.paid}, closed ${counts.closed}, errors ${counts.errors}, not synced ${counts.notSynced}, unknown ${counts.unknown}`;
}

/** The terminal status: Succeeded or Failed, with Progressing turned off. */
export function finishedStatus(
  running: PaymentRepairStatus,
  generation: number,
  now: Date,
  result:
    | { ok: true; counts: RepairCounts; message: string; extra: Partial<PaymentRepairStatus> }
    | {
        ok: false;
        reason: string;
        message: string;
        counts?: RepairCounts;
        extra?: Partial<PaymentRepairStatus>;
      },
): PaymentRepairStatus {
  let conditions = setCondition(
    running.conditions,
    {
      type: 'Progressing',
      status: 'False',
      reason: 'Finished',
      message: result.ok ? 'finished' : 'finished with a failure',
      observedGeneration: generation,
    },
    now,
  );
  conditions = setCondition(
    conditions,
    result.ok
      ? {
          type: 'Complete',
          status: 'True',
          reason: 'Succeeded',
          message: result.message,
          observedGeneration: generation,
        }
      : {
          type: 'Failed',
          status: 'True',
          reason: result.reason,
          message: result.message,
          observedGeneration: generation,
        },
    now,
  );
  return {
    ...running,
    ...(result.extra ?? {}),
    phase: result.ok ? 'Succeeded' : 'Failed',
    observedGeneration: generation,
    message: result.message.slice(0, 1024),
    finishedAt: now.toISOString(),
    ...(result.counts ? { counts: result.counts } : {}),
    conditions,
  };
}
