// The `sweep` mode's wiring: one reconciliation run (a CronJob execution). The kernel
// (@paysync/observability runOnce) runs it: configuration errors, signals and exit codes are its.
import { topicNames } from '@paysync/contracts';
import type { OneShotDefinition } from '@paysync/observability';
import { AdaptiveRateLimiter, createKafkaPublisher } from '@paysync/reconcile';
import { loadReconcilerConfig, type ReconcilerConfig } from './config.ts';
import { reconcilerParts } from './parts.ts';
import { runSweepJob } from './run.ts';
import { SWEEP_WRITE_LINGER_MS } from './sweep.ts';

/** `shard`: `--shard i/n` (overrides RECONCILER_SHARD). */
export function sweepJob(shard: string | undefined): OneShotDefinition<ReconcilerConfig> {
  return {
    name: 'reconciler',
    loadConfig: (env) => loadReconcilerConfig(env, { shard }),
    // SIGTERM (node drain, job deadline): stop taking orders, give the rest back, push metrics, exit.
    stopping: 'stopping the sweep early',
    async run(config, { logger, signal }) {
      const { pool, producer, client } = reconcilerParts(config, 'reconciler', logger);
      // A sweep trades a few milliseconds per order for larger Kafka and MySQL writes (less CPU for
      // the sweep, the broker and MariaDB at hundreds of orders a second).
      const publisher = createKafkaPublisher({
        producer,
        topics: topicNames(config.KAFKA_TOPIC_PREFIX),
        lingerMs: SWEEP_WRITE_LINGER_MS,
      });
      const pacer = new AdaptiveRateLimiter({ qps: config.RECONCILER_QPS });
      try {
        await producer.connect();
        await client.start();
        const result = await runSweepJob(
          { pool, wechat: client, publisher, pacer, logger, signal },
          {
            shard: config.shard,
            pageSize: config.RECONCILER_PAGE_SIZE,
            concurrency: config.RECONCILER_CONCURRENCY,
            budgetMs: config.RECONCILER_TIME_BUDGET,
            claimLeaseMs: config.RECONCILER_CLAIM_LEASE,
            policy: config.policy,
            notify:
              config.RECONCILER_NOTIFY_PROBE && config.WECHATPAY_NOTIFY_URL
                ? {
                    url: config.WECHATPAY_NOTIFY_URL,
                    probeUrl: config.RECONCILER_NOTIFY_PROBE_URL,
                    timeoutMs: config.RECONCILER_NOTIFY_PROBE_TIMEOUT,
                    allowInsecure: config.RECONCILER_NOTIFY_URL_ALLOW_INSECURE,
                  }
                : undefined,
            refunds: { notifyUrl: config.WECHATPAY_NOTIFY_URL, limit: config.RECONCILER_REFUND_LIMIT },
            pushgateway: config.RECONCILER_PUSHGATEWAY_URL
              ? {
                  url: config.RECONCILER_PUSHGATEWAY_URL,
                  job: config.RECONCILER_PUSHGATEWAY_JOB,
                  namespace: config.RECONCILER_PUSHGATEWAY_NAMESPACE,
                }
              : undefined,
          },
        );
        return result.exitCode;
      } finally {
        await producer.disconnect().catch(() => {});
        await client.close().catch(() => {});
        await pool.end().catch(() => {});
      }
    },
  };
}
