import type { Pool } from '@paysync/db';
import type { Logger } from '@paysync/observability';
import { type RetryPolicy, retryDelayMs } from './backoff.ts';
import { type ChannelBreaker, isBreakerRejection, type RateLimiter } from './breaker.ts';
import type { Channel } from './channels/types.ts';
import { safeErrorMessage } from './errors.ts';
import type { AlertingMetrics } from './metrics.ts';
import type { Notice } from './notice.ts';
import {
  type DueDelivery,
  decodePayload,
  dueDeliveries,
  leaseDelivery,
  markFailed,
  markRetry,
  markSent,
  releaseDelivery,
} from './store.ts';

export type ChannelRuntime = {
  channel: Channel;
  breaker: ChannelBreaker;
  limiter: RateLimiter;
  batchMax: number;
};

export type DispatcherSettings = {
  pollIntervalMs: number;
  retry: RetryPolicy;
  /** A delivery still not sent this long after it was queued is given up (state failed). */
  maxAgeMs: number;
  /** How long one send may take before the delivery is due again (a crash mid-send). */
  leaseMs: number;
  sendTimeoutMs: number;
};

export type Dispatcher = {
  start(): void;
  /** Look for due deliveries now (new ones were queued). */
  wake(): void;
  /** Stops polling and waits for the messages being sent. */
  stop(): Promise<void>;
  /** One pass over every channel (tests drive it directly). */
  tick(): Promise<void>;
};

type Leased = { d: DueDelivery; notice: Notice; cooldownMs: number };

/**
 * The delivery loop. Everything it sends comes from alert_deliveries: due rows of a channel are
 * leased, sent together as one message through the channel's breaker, and marked sent, or
 * scheduled again with back-off. A channel whose breaker is open is skipped, so its deliveries wait
 * in the table and go out once it recovers, after a restart too. Channels never wait on each other.
 */
export function createDispatcher(deps: {
  pool: Pool;
  channels: readonly ChannelRuntime[];
  metrics: AlertingMetrics;
  logger: Logger;
  settings: DispatcherSettings;
  random?: () => number;
}): Dispatcher {
  const { pool, metrics, logger, settings } = deps;
  const busy = new Map<string, Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let dbHealthy = true;

  async function settle(leased: Leased[], error: unknown): Promise<void> {
    const message = safeErrorMessage(error);
    const now = Date.now();
    for (const l of leased) {
      const channel = l.d.channel;
      if (now - l.d.createdAt.getTime() >= settings.maxAgeMs) {
        await markFailed(pool, l.d.id, `gave up after ${l.d.attempts + 1} attempts: ${message}`);
        metrics.deliveries.inc({ channel, outcome: 'failed' });
        logger.error(
          { channel, dedupeKey: l.notice.dedupeKey, attempts: l.d.attempts + 1, error: message },
          'alert delivery given up',
        );
      } else {
        await markRetry(pool, l.d.id, retryDelayMs(l.d.attempts + 1, settings.retry, deps.random), message);
        metrics.deliveries.inc({ channel, outcome: 'retry' });
      }
    }
  }

  async function lease(rt: ChannelRuntime, due: DueDelivery[]): Promise<Leased[]> {
    const leased: Leased[] = [];
    for (const d of due) {
      if (!(await leaseDelivery(pool, d, settings.leaseMs))) continue;
      const payload = decodePayload(d.payload);
      if (!payload) {
        await markFailed(pool, d.id, 'payload does not decode');
        metrics.deliveries.inc({ channel: rt.channel.name, outcome: 'failed' });
        continue;
      }
      leased.push({ d, notice: payload.notice, cooldownMs: payload.cooldownMs });
    }
    return leased;
  }

  /** One message for one channel; true when a full batch went, so more may be due. */
  async function runChannel(rt: ChannelRuntime): Promise<boolean> {
    const name = rt.channel.name;
    if (rt.breaker.opened) return false;
    if (!rt.limiter.take()) return false;
    const leased = await lease(rt, await dueDeliveries(pool, name, rt.batchMax));
    if (leased.length === 0) {
      rt.limiter.refund();
      return false;
    }
    const started = performance.now();
    try {
      await rt.breaker.fire(
        leased.map((l) => l.notice),
        AbortSignal.timeout(settings.sendTimeoutMs),
      );
    } catch (err) {
      if (isBreakerRejection(err)) {
        metrics.messages.inc({ channel: name, result: 'rejected' });
        for (const l of leased) await releaseDelivery(pool, l.d.id);
        rt.limiter.refund();
        return false;
      }
      metrics.messages.inc({ channel: name, result: 'error' });
      metrics.duration.observe({ channel: name }, (performance.now() - started) / 1000);
      logger.warn(
        { channel: name, target: rt.channel.target, alerts: leased.length, error: safeErrorMessage(err) },
        'alert message not delivered',
      );
      await settle(leased, err);
      return false;
    }
    metrics.messages.inc({ channel: name, result: 'sent' });
    metrics.duration.observe({ channel: name }, (performance.now() - started) / 1000);
    for (const l of leased) {
      await markSent(pool, l.d.id, l.cooldownMs);
      metrics.deliveries.inc({ channel: name, outcome: 'sent' });
    }
    logger.info(
      { channel: name, target: rt.channel.target, dedupeKeys: leased.map((l) => l.notice.dedupeKey) },
      'alert message delivered',
    );
    return leased.length >= rt.batchMax;
  }

  function launch(rt: ChannelRuntime): void {
    const name = rt.channel.name;
    if (busy.has(name)) return;
    const work = (async () => {
      try {
        while (running && (await runChannel(rt))) {
          // A full batch went out: more may be due.
        }
        if (!dbHealthy) logger.info('alert deliveries: database reachable again');
        dbHealthy = true;
      } catch (err) {
        if (dbHealthy)
          logger.error(
            { channel: name, error: safeErrorMessage(err) },
            'alert delivery loop failed (will retry)',
          );
        dbHealthy = false;
      } finally {
        busy.delete(name);
      }
    })();
    busy.set(name, work);
  }

  async function tick(): Promise<void> {
    const wasRunning = running;
    running = true;
    for (const rt of deps.channels) launch(rt);
    await Promise.all(busy.values());
    running = wasRunning;
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      for (const rt of deps.channels) launch(rt);
      schedule(settings.pollIntervalMs);
    }, delayMs);
  }

  return {
    start() {
      running = true;
      schedule(0);
    },
    wake() {
      if (running) schedule(0);
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await Promise.allSettled(busy.values());
    },
    tick,
  };
}
