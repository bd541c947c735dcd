import { setTimeout as sleep } from 'node:timers/promises';
import { type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { Clock } from '@paysync/contracts';
import type { Logger } from '@paysync/observability';
import { describeApiError, type Kube, statusOf } from './kube.ts';

export type LeaderElectionOptions = {
  namespace: string;
  lease: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  logger: Logger;
  clock?: Clock;
};

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: a replica
 * takes the Lease when it is free or when its holder has not renewed it for leaseDuration (measured
 * on this replica's clock from when it last saw the record change, so clock skew cannot shorten it);
 * every write carries the resourceVersion read, so of two replicas trying at once exactly one wins.
 * The leader renews every retryPeriod and gives up when it could not renew for renewDeadline.
 */
export class LeaderElector {
  readonly #opts: LeaderElectionOptions;
  readonly #kube: Kube;
  readonly #now: Clock;
  #observed: { key: string; at: number } | undefined;
  #leader = false;
  #stopped = false;

  constructor(kube: Kube, opts: LeaderElectionOptions) {
    this.#kube = kube;
    this.#opts = opts;
    this.#now = opts.clock ?? Date.now;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /**
   * Waits until this replica holds the Lease, then renews it until `signal` aborts (the Lease is
   * then released) or renewal fails for renewDeadline. Calls onStarted once leading; resolves with
   * 'lost' or 'stopped'.
   */
  async run(signal: AbortSignal, onStarted: () => void): Promise<'lost' | 'stopped'> {
    const { retryPeriodMs, renewDeadlineMs, logger } = this.#opts;
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew()) break;
      await sleep(jitter(retryPeriodMs), undefined, { signal }).catch(() => {});
    }
    if (signal.aborted) return 'stopped';
    this.#leader = true;
    logger.info({ lease: this.#opts.lease, identity: this.#opts.identity }, 'became the leader');
    onStarted();
    let lastRenew = this.#now();
    while (!signal.aborted) {
      await sleep(retryPeriodMs, undefined, { signal }).catch(() => {});
      if (signal.aborted) break;
      if (await this.#tryAcquireOrRenew()) {
        lastRenew = this.#now();
      } else if (this.#now() - lastRenew >= renewDeadlineMs) {
        this.#leader = false;
        logger.error({ lease: this.#opts.lease }, 'could not renew the lease in time: leadership lost');
        return 'lost';
      }
    }
    this.#leader = false;
    await this.#release();
    return 'stopped';
  }

  /** Stops renewing without releasing (tests: a replica that froze). */
  freeze(): void {
    this.#stopped = true;
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    if (this.#stopped) return false;
    const { namespace, lease: name, identity, leaseDurationMs, logger } = this.#opts;
    const api = this.#kube.coordination;
    const now = this.#now();
    const durationSeconds = Math.max(1, Math.ceil(leaseDurationMs / 1000));
    let current: V1Lease;
    try {
      current = await api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (statusOf(err) !== 404) {
        logger.warn({ err: describeApiError(err) }, 'lease read failed');
        return false;
      }
      try {
        await api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: new V1MicroTime(now),
              renewTime: new V1MicroTime(now),
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (createErr) {
        if (statusOf(createErr) !== 409)
          logger.warn({ err: describeApiError(createErr) }, 'lease create failed');
        return false;
      }
    }
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const key = `${holder}|${spec.renewTime ? new Date(spec.renewTime).getTime() : ''}|${current.metadata?.resourceVersion}`;
    if (this.#observed?.key !== key) this.#observed = { key, at: now };
    const heldByOther = holder !== '' && holder !== identity;
    const duration = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && this.#observed.at + duration > now) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    try {
      await api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          metadata: { name, namespace, resourceVersion: current.metadata?.resourceVersion },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime:
              holder === identity && spec.acquireTime
                ? new V1MicroTime(spec.acquireTime)
                : new V1MicroTime(now),
            renewTime: new V1MicroTime(now),
            leaseTransitions: transitions,
          },
        },
      });
      return true;
    } catch (err) {
      if (statusOf(err) !== 409) logger.warn({ err: describeApiError(err) }, 'lease update failed');
      return false;
    }
  }

  /** Gives the Lease up at shutdown so another replica need not wait for it to expire. */
  async #release(): Promise<void> {
    const { namespace, lease: name, identity } = this.#opts;
    try {
      const current = await this.#kube.coordination.readNamespacedLease({ name, namespace });
      if (current.spec?.holderIdentity !== identity) return;
      await this.#kube.coordination.replaceNamespacedLease({
        name,
        namespace,
        body: {
          metadata: { name, namespace, resourceVersion: current.metadata?.resourceVersion },
          spec: {
            holderIdentity: '',
            leaseDurationSeconds: 1,
            leaseTransitions: current.spec?.leaseTransitions ?? 0,
            renewTime: new V1MicroTime(this.#now()),
            ...(current.spec?.acquireTime ? { acquireTime: new V1MicroTime(current.spec.acquireTime) } : {}),
          },
        },
      });
    } catch (err) {
      this.#opts.logger.warn({ err: describeApiError(err) }, 'lease release failed');
    }
  }
}

function jitter(ms: number): number {
  return Math.round(ms * (1 + Math.random() * 0.2));
}
