#!/usr/bin/env node
// reconciler composition root: `sweep` runs once (a CronJob execution) and exits with its status.
import { parseArgs } from 'node:util';
import { ConfigError } from '@paysync/config';
import { topicNames } from '@paysync/contracts';
import { AdaptiveRateLimiter, createKafkaPublisher } from '@paysync/reconcile';
import { loadReconcilerConfig, type ReconcilerConfig } from './config.ts';
import { abortOnSignals, reconcilerParts } from './parts.ts';
import { runSweepJob } from './run.ts';
import { SWEEP_WRITE_LINGER_MS } from './sweep.ts';

const USAGE = `usage: paysync-reconciler sweep [--shard i/n] | bill [--date YYYY-MM-DD] | operator
  sweep            one reconciliation run: check every due pending order at WeChat Pay, then exit
                   (0: done, or another run holds the lock; 1: the run failed; 2: bad configuration)
  --shard i/n      only orders with CRC32(out_trade_no) % n == i (overrides RECONCILER_SHARD)
  bill             T+1 trade-bill reconciliation of one Beijing day (default yesterday), then exit
                   (0: reconciled, differences recorded; 1: the bill could not be reconciled)
  operator         the PaymentRepair operator: leader-elected, executes PaymentRepair resources
Configuration comes from the environment: see services/reconciler/README.md.`;

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: { shard: { type: 'string' }, date: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
}
try {
  args = parse();
} catch (err) {
  console.error(`paysync-reconciler: ${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (args.values.help) {
  console.log(USAGE);
  process.exit(0);
}
const mode = args.positionals[0];
if (mode === 'operator') {
  const { runOperator } = await import('./operator/run.ts');
  process.exit(await runOperator(process.env));
}
if (mode === 'bill' && args.positionals.length === 1) {
  const { runBillMain } = await import('./bill-main.ts');
  process.exit(await runBillMain(process.env, args.values.date));
}
if (mode !== 'sweep' || args.positionals.length > 1) {
  console.error(USAGE);
  process.exit(2);
}

let config: ReconcilerConfig;
try {
  config = loadReconcilerConfig(process.env, { shard: args.values.shard });
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}

const { logger, pool, producer, client } = reconcilerParts(config, 'reconciler');
// A sweep trades a few milliseconds per order for larger Kafka and MySQL writes (less CPU for the
// sweep, the broker and MariaDB at hundreds of orders a second).
const publisher = createKafkaPublisher({
  producer,
  topics: topicNames(config.KAFKA_TOPIC_PREFIX),
  lingerMs: SWEEP_WRITE_LINGER_MS,
});
const pacer = new AdaptiveRateLimiter({ qps: config.RECONCILER_QPS });

// SIGTERM (node drain, job deadline): stop taking orders, give the rest back, push metrics, exit.
const signal = abortOnSignals(logger, 'stopping the sweep early');

let exitCode = 1;
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
  exitCode = result.exitCode;
} catch (err) {
  logger.error({ err }, 'the sweep could not run');
  exitCode = 1;
} finally {
  await producer.disconnect().catch(() => {});
  await client.close().catch(() => {});
  await pool.end().catch(() => {});
}
logger.flush();
process.exitCode = exitCode;
// Whatever a library left behind must not keep a finished Job's pod alive.
setTimeout(() => process.exit(exitCode), 3000).unref();
