// The `bill` mode's composition: one trade-bill run (a CronJob execution), then exit with its status.
import { ConfigError } from '@paysync/config';
import { topicNames } from '@paysync/contracts';
import { AdaptiveRateLimiter, BILL_DATE_PATTERN, createKafkaPublisher } from '@paysync/reconcile';
import { BILL_PRODUCER, runBillJob } from './bill.ts';
import { loadReconcilerConfig, type ReconcilerConfig } from './config.ts';
import { abortOnSignals, reconcilerParts } from './parts.ts';

export async function runBillMain(env: NodeJS.ProcessEnv, date: string | undefined): Promise<number> {
  if (date !== undefined && !BILL_DATE_PATTERN.test(date)) {
    console.error(`paysync-reconciler: --date must be YYYY-MM-DD (got "${date}")`);
    return 2;
  }
  let config: ReconcilerConfig;
  try {
    config = loadReconcilerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const { logger, pool, producer, client } = reconcilerParts(config, 'reconciler-bill');
  const publisher = createKafkaPublisher({ producer, topics: topicNames(config.KAFKA_TOPIC_PREFIX) });
  const signal = abortOnSignals(logger, 'stopping the bill run early');
  let exitCode = 1;
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
    exitCode = result.exitCode;
    await publisher.idle();
  } catch (err) {
    logger.error({ err }, 'the bill run could not run');
    exitCode = 1;
  } finally {
    await producer.disconnect().catch(() => {});
    await client.close().catch(() => {});
    await pool.end().catch(() => {});
  }
  logger.flush();
  return exitCode;
}
