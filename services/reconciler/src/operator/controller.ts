import { setTimeout as sleep } from 'node:timers/promises';
import { type Clock, dateClock } from '@paysync/contracts';
import { describeError, type Logger } from '@paysync/observability';
import { recordEvent } from './events.ts';
import type { RepairOutcome } from './execute.ts';
import { describeApiError, type Kube, statusOf } from './kube.ts';
import type { OperatorMetrics } from './metrics.ts';
import {
  PAYMENT_REPAIR,
  type PaymentRepairObject,
  type PaymentRepairSpec,
  type PaymentRepairStatus,
  paymentRepairObject,
  paymentRepairSpec,
} from './resource.ts';
import { failureOf, finishedStatus, runningStatus, summary } from './status.ts';
import { RepairWatcher } from './watcher.ts';

export type ControllerDeps = {
  kube: Kube;
  logger: Logger;
  metrics: OperatorMetrics;
  namespace: string;
  identity: string;
  resyncMs: number;
  execute: (spec: PaymentRepairSpec, actor: string, signal: AbortSignal) => Promise<RepairOutcome>;
  clock?: Clock;
};

const api = { group: PAYMENT_REPAIR.group, version: PAYMENT_REPAIR.version, plural: PAYMENT_REPAIR.plural };

/** The audit log's actor for a repair: who asked (when the resource says) and which resource. */
export function actorOf(repair: PaymentRepairObject, spec: PaymentRepairSpec): string {
  const ref = `paymentrepair/${repair.metadata.namespace}/${repair.metadata.name}`;
  return (spec.requestedBy ? `${spec.requestedBy} via ${ref}` : ref).slice(0, 128);
}

/**
 * Executes PaymentRepairs, one at a time, while this replica leads. Each repair runs once: it is
 * claimed by writing status Running (executedBy = this replica) with the resourceVersion just read,
 * so a replica that lost a race gets a conflict and leaves it. A repair left Running by another
 * replica (it died, or lost the Lease) is run again: sync and replay are idempotent at the ledger.
 */
export class RepairController {
  readonly #deps: ControllerDeps;
  readonly #queue = new Set<string>();
  #wake: (() => void) | undefined;

  constructor(deps: ControllerDeps) {
    this.#deps = deps;
  }

  enqueue(name: string): void {
    this.#queue.add(name);
    this.#wake?.();
  }

  /** Lists, watches and works until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { kube, logger, namespace, resyncMs } = this.#deps;
    const watcher = new RepairWatcher(kube, logger, namespace, resyncMs, (name) => this.enqueue(name));
    const watching = watcher.run(signal);
    while (!signal.aborted) {
      const next = this.#queue.values().next();
      if (next.done) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
          if (signal.aborted) resolve();
        });
        this.#wake = undefined;
        continue;
      }
      this.#queue.delete(next.value);
      try {
        await this.process(next.value, signal);
      } catch (err) {
        logger.error(
          { repair: next.value, err: describeApiError(err) },
          'processing a PaymentRepair failed; retrying',
        );
        await sleep(1000, undefined, { signal }).catch(() => {});
        if (!signal.aborted) this.enqueue(next.value);
      }
    }
    await watching;
  }

  async process(name: string, signal: AbortSignal): Promise<void> {
    const { kube, logger, namespace, identity, metrics } = this.#deps;
    const now = dateClock(this.#deps.clock);
    let raw: unknown;
    try {
      raw = await kube.custom.getNamespacedCustomObject({ ...api, namespace, name });
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw err;
    }
    const repair = paymentRepairObject.parse(raw) as PaymentRepairObject;
    if (repair.metadata.deletionTimestamp) return;
    const status = repair.status;
    const generation = repair.metadata.generation;
    const finished = status?.phase === 'Succeeded' || status?.phase === 'Failed';
    if (finished && (status?.observedGeneration ?? 0) >= generation) return;
    if (status?.phase === 'Running' && status.executedBy === identity) return;
    const takeover =
      status?.phase === 'Running'
        ? `${status.executedBy ?? 'another replica'} stopped before finishing`
        : undefined;

    const parsed = paymentRepairSpec.safeParse(repair.spec);
    if (!parsed.success) {
      const message = parsed.error.issues
        .map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`)
        .join('; ');
      const claimed = await this.#writeStatus(
        repair,
        runningStatus(status, generation, identity, now(), undefined),
      );
      if (!claimed) return;
      await this.#writeStatus(
        claimed,
        finishedStatus(claimed.status ?? {}, generation, now(), {
          ok: false,
          reason: 'InvalidSpec',
          message,
        }),
      );
      await recordEvent(kube, logger, identity, repair, {
        type: 'Warning',
        reason: 'Invalid',
        note: message,
      });
      return;
    }
    const spec = parsed.data;
    const claimed = await this.#writeStatus(
      repair,
      runningStatus(status, generation, identity, now(), takeover),
    );
    if (!claimed) {
      logger.info({ repair: name }, 'another replica claimed this PaymentRepair');
      return;
    }
    const started = Date.now();
    const mode = spec.dryRun ? 'dry run' : 'for real';
    logger.info({ repair: name, action: spec.action, dryRun: spec.dryRun }, 'executing a PaymentRepair');
    await recordEvent(kube, logger, identity, claimed, {
      type: 'Normal',
      reason: takeover ? 'Restarted' : 'Started',
      note: `${spec.action} (${mode}) started on ${identity}${takeover ? `: ${takeover}` : ''}`,
    });

    let final: PaymentRepairStatus;
    try {
      const outcome = await this.#deps.execute(spec, actorOf(claimed, spec), signal);
      if (signal.aborted) {
        logger.warn({ repair: name }, 'stopped while executing; the next leader runs it again');
        return;
      }
      const failure = failureOf(outcome.counts);
      const text = summary(outcome.counts, spec.dryRun);
      const extra = {
        report: outcome.report,
        reportTruncated: outcome.reportTruncated,
        ...(outcome.correlationId ? { correlationId: outcome.correlationId } : {}),
      };
      final = finishedStatus(
        claimed.status ?? {},
        generation,
        now(),
        failure
          ? {
              ok: false,
              reason: failure.reason,
              message: `${failure.message}; ${text}`,
              counts: outcome.counts,
              extra,
            }
          : { ok: true, counts: outcome.counts, message: text, extra },
      );
      for (const line of outcome.report) metrics.orders.inc({ action: spec.action, outcome: line.outcome });
    } catch (err) {
      if (signal.aborted) return;
      const error = describeError(err);
      const message = `execution failed: ${error.code ? `${error.code}: ` : ''}${error.message}`;
      logger.error({ repair: name, error }, 'a PaymentRepair failed');
      final = finishedStatus(claimed.status ?? {}, generation, now(), {
        ok: false,
        reason: 'ExecutionError',
        message,
      });
    }
    const written = await this.#writeFinal(claimed, final);
    metrics.repairs.inc({
      action: spec.action,
      dry_run: String(spec.dryRun),
      phase: final.phase ?? 'Failed',
    });
    metrics.duration.observe({ action: spec.action }, (Date.now() - started) / 1000);
    await recordEvent(kube, logger, identity, written ?? claimed, {
      type: final.phase === 'Succeeded' ? 'Normal' : 'Warning',
      reason: final.phase === 'Succeeded' ? 'Succeeded' : 'Failed',
      note: `${spec.action} (${mode}): ${final.message ?? ''}`,
    });
    logger.info({ repair: name, phase: final.phase, counts: final.counts }, 'PaymentRepair finished');
  }

  /** PUT status with the resourceVersion read; undefined on a conflict (someone else wrote first). */
  async #writeStatus(
    repair: PaymentRepairObject,
    status: PaymentRepairStatus,
  ): Promise<PaymentRepairObject | undefined> {
    const { kube, namespace } = this.#deps;
    try {
      const body = {
        apiVersion: PAYMENT_REPAIR.apiVersion,
        kind: PAYMENT_REPAIR.kind,
        metadata: { name: repair.metadata.name, namespace, resourceVersion: repair.metadata.resourceVersion },
        spec: repair.spec,
        status,
      };
      const res = await kube.custom.replaceNamespacedCustomObjectStatus({
        ...api,
        namespace,
        name: repair.metadata.name,
        body,
      });
      return paymentRepairObject.parse(res) as PaymentRepairObject;
    } catch (err) {
      if (statusOf(err) === 409) return undefined;
      throw err;
    }
  }

  /** The final status, re-read and retried on conflicts (nobody else writes a claimed repair's status). */
  async #writeFinal(
    claimed: PaymentRepairObject,
    status: PaymentRepairStatus,
  ): Promise<PaymentRepairObject | undefined> {
    let current = claimed;
    for (let attempt = 0; attempt < 5; attempt++) {
      const written = await this.#writeStatus(current, status);
      if (written) return written;
      const raw = await this.#deps.kube.custom.getNamespacedCustomObject({
        ...api,
        namespace: this.#deps.namespace,
        name: claimed.metadata.name,
      });
      current = paymentRepairObject.parse(raw) as PaymentRepairObject;
      if (current.status?.executedBy !== this.#deps.identity) return undefined;
    }
    return undefined;
  }
}
