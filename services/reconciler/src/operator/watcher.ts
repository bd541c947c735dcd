import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@paysync/observability';
import { describeApiError, type Kube } from './kube.ts';
import { PAYMENT_REPAIR } from './resource.ts';

type Listed = { metadata?: { resourceVersion?: string }; items?: { metadata?: { name?: string } }[] };

/**
 * Lists the namespace's PaymentRepairs, then watches from the list's resourceVersion and reports
 * every name that appears or changes. A watch that ends (timeouts, 410 Gone, a lost connection) is
 * followed by a fresh list; every resyncMs the list is repeated anyway, so no event is lost for good.
 */
export class RepairWatcher {
  readonly #kube: Kube;
  readonly #logger: Logger;
  readonly #namespace: string;
  readonly #resyncMs: number;
  readonly #onName: (name: string) => void;

  constructor(
    kube: Kube,
    logger: Logger,
    namespace: string,
    resyncMs: number,
    onName: (name: string) => void,
  ) {
    this.#kube = kube;
    this.#logger = logger;
    this.#namespace = namespace;
    this.#resyncMs = resyncMs;
    this.#onName = onName;
  }

  async run(signal: AbortSignal): Promise<void> {
    const path = `/apis/${PAYMENT_REPAIR.group}/${PAYMENT_REPAIR.version}/namespaces/${this.#namespace}/${PAYMENT_REPAIR.plural}`;
    while (!signal.aborted) {
      let resourceVersion: string | undefined;
      try {
        const list = (await this.#kube.custom.listNamespacedCustomObject({
          group: PAYMENT_REPAIR.group,
          version: PAYMENT_REPAIR.version,
          plural: PAYMENT_REPAIR.plural,
          namespace: this.#namespace,
        })) as Listed;
        resourceVersion = list.metadata?.resourceVersion;
        for (const item of list.items ?? []) if (item.metadata?.name) this.#onName(item.metadata.name);
      } catch (err) {
        this.#logger.warn({ err: describeApiError(err) }, 'listing PaymentRepairs failed; retrying');
        await sleep(2000, undefined, { signal }).catch(() => {});
        continue;
      }
      await this.#watchOnce(path, resourceVersion, signal);
    }
  }

  /** One watch, ended by the server, an error, the resync period or `signal`. */
  async #watchOnce(path: string, resourceVersion: string | undefined, signal: AbortSignal): Promise<void> {
    let finish: () => void = () => {};
    const ended = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let controller: AbortController | undefined;
    try {
      controller = await this.#kube.watch.watch(
        path,
        { allowWatchBookmarks: true, ...(resourceVersion ? { resourceVersion } : {}) },
        (phase, obj: { metadata?: { name?: string } }) => {
          if ((phase === 'ADDED' || phase === 'MODIFIED') && obj?.metadata?.name)
            this.#onName(obj.metadata.name);
        },
        (err: unknown) => {
          if (err && !signal.aborted) this.#logger.debug({ err: describeApiError(err) }, 'watch ended');
          finish();
        },
      );
    } catch (err) {
      this.#logger.warn({ err: describeApiError(err) }, 'watching PaymentRepairs failed; listing again');
      await sleep(2000, undefined, { signal }).catch(() => {});
      return;
    }
    const resync = setTimeout(finish, this.#resyncMs);
    const onAbort = () => finish();
    signal.addEventListener('abort', onAbort, { once: true });
    // Aborted while the watch was being set up: the listener came too late to hear it.
    if (signal.aborted) finish();
    await ended;
    clearTimeout(resync);
    signal.removeEventListener('abort', onAbort);
    controller.abort();
  }
}
