// The `bill` mode's wiring: one trade-bill run (a CronJob execution). The kernel
// (@paysync/observability runOnce) runs it: configuration errors, signals and exit codes are its.
import { topicNames } from '@paysync/contracts';
import type { OneShotDefinition } from '@paysync/observability';
import { AdaptiveRateLimiter, createKafkaPublisher } from '@paysync/reconcile';
import { BILL_PRODUCER, runBillJob } from './bill.ts';
import { loadReconcilerConfig, type ReconcilerConfig } from './config.ts';
import { reconcilerParts } from './parts.ts';

/** `date`: `--date YYYY-MM-DD` (checked by the caller), default yesterday in Beijing. */
export function billJob(date: string | undefined): OneShotDefinition<ReconcilerConfig> {
  return {
    name: 'reconciler',
    loadConfig: (env) => loadReconcilerConfig(env),
    stopping: 'stopping the bill run early',
    async run(config, { logger, signal }) {
      const { pool, producer, client } = reconcilerParts(config, 'reconciler-bill', logger);
      const publisher = createKafkaPublisher({ producer, topics: topicNames(config.KAFKA_TOPIC_PREFIX) });
      try {
        await producer.connect();
        await client.start();
        const result = await runBillJob(
          {
            pool,
            client,
            mchid: config.WECHATPAY_MCHID,
            sync: {
              wechat: client,
              publisher,
              pacer: new AdaptiveRateLimiter({ qps: config.RECONCILER_QPS }),
              policy: config.policy,
              origin: { producer: BILL_PRODUCER },
            },
            logger,
            signal,
          },
          {
            billDate: date,
            holdDays: config.RECONCILER_BILL_HOLD_DAYS,
            maxDifferences: config.RECONCILER_BILL_MAX_DIFFERENCES,
            archiveDir: config.RECONCILER_BILL_ARCHIVE_DIR,
            retryIntervalMs: config.RECONCILER_BILL_RETRY_INTERVAL,
            deadline: config.RECONCILER_BILL_DEADLINE,
            pushgateway: config.RECONCILER_PUSHGATEWAY_URL
              ? {
                  url: config.RECONCILER_PUSHGATEWAY_URL,
                  job: config.RECONCILER_BILL_PUSHGATEWAY_JOB,
                  namespace: config.RECONCILER_PUSHGATEWAY_NAMESPACE,
                }
              : undefined,
          },
        );
        await publisher.idle();
        return result.exitCode;
      } finally {
        await producer.disconnect().catch(() => {});
        await client.close().catch(() => {});
        await pool.end().catch(() => {});
      }
    },
  };
}
