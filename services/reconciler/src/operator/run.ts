import { ConfigError } from '@paysync/config';
import { topicNames } from '@paysync/contracts';
import { createPool } from '@paysync/db';
import { createIdempotentProducer, createKafka } from '@paysync/kafka';
import { createLogger, startOpsServer } from '@paysync/observability';
import { certificateArchiver } from '@paysync/orders';
import { AdaptiveRateLimiter, createKafkaPublisher } from '@paysync/reconcile';
import { createWeChatClient } from '@paysync/wechatpay';
import { loadOperatorConfig, type OperatorConfig } from './config.ts';
import { RepairController } from './controller.ts';
import { executeRepair } from './execute.ts';
import { createKube } from './kube.ts';
import { LeaderElector } from './leader.ts';
import { OperatorMetrics } from './metrics.ts';

/**
 * The PaymentRepair operator (`paysync-reconciler operator`): waits for the Lease, then executes
 * PaymentRepairs until SIGTERM (exit 0) or until it loses the Lease (exit 1: the Deployment restarts
 * it as a follower). Exit 2: bad configuration.
 */
export async function runOperator(env: Record<string, string | undefined> = process.env): Promise<number> {
  let config: OperatorConfig;
  try {
    config = loadOperatorConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const { reconciler: rc, operator: op } = config;
  const logger = createLogger({ service: 'reconciler-operator', level: rc.LOG_LEVEL });
  for (const w of rc.warnings) logger.warn({ variable: w.variable }, `${w.variable}: ${w.message}`);
  const pool = createPool({ url: rc.MYSQL_URL, connectionLimit: rc.RECONCILER_DB_POOL_SIZE });
  const kafka = createKafka({
    brokers: rc.KAFKA_BROKERS,
    clientId: 'paysync-reconciler-operator',
    logger,
    ...rc.kafkaSecurity,
  });
  const producer = createIdempotentProducer(kafka);
  const wechat = createWeChatClient(rc, rc.secrets, {
    userAgent: 'paysync-reconciler-operator/0.1 (node)',
    onCertificates: certificateArchiver(pool, (err) =>
      logger.warn({ err }, 'platform certificates not archived'),
    ),
  });
  const publisher = createKafkaPublisher({ producer, topics: topicNames(rc.KAFKA_TOPIC_PREFIX) });
  const kube = createKube();
  const metrics = new OperatorMetrics();
  const ops = await startOpsServer({
    registry: metrics.registry,
    host: op.metricsHost,
    port: op.metricsPort,
    logger,
    checks: [
      { name: 'mysql', check: async () => void (await pool.query('SELECT 1')) },
      { name: 'kubernetes', check: async () => void (await kube.version.getCode()) },
    ],
  });

  const leading = new AbortController();
  const release = new AbortController();
  let controllerDone: Promise<void> = Promise.resolve();
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      logger.info({ signal }, 'stopping: finishing the orders in flight, then releasing the lease');
      ops.markShuttingDown();
      leading.abort();
      await controllerDone;
      release.abort();
    })();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  let code = 0;
  try {
    await producer.connect();
    await wechat.start();
    const controller = new RepairController({
      kube,
      logger,
      metrics,
      namespace: op.namespace,
      identity: op.identity,
      resyncMs: op.resyncMs,
      execute: (spec, actor, signal) =>
        executeRepair(
          {
            pool,
            wechat,
            publisher,
            pacer: new AdaptiveRateLimiter({ qps: rc.RECONCILER_QPS }),
            policy: rc.policy,
            concurrency: rc.RECONCILER_CONCURRENCY,
            ledgerWaitMs: op.ledgerWaitMs,
            signal,
          },
          spec,
          actor,
        ),
    });
    const elector = new LeaderElector(kube, {
      namespace: op.namespace,
      lease: op.lease,
      identity: op.identity,
      leaseDurationMs: op.leaseDurationMs,
      renewDeadlineMs: op.renewDeadlineMs,
      retryPeriodMs: op.retryPeriodMs,
      logger,
    });
    logger.info({ namespace: op.namespace, lease: op.lease, identity: op.identity }, 'waiting for the lease');
    const result = await elector.run(release.signal, () => {
      metrics.leader.set(1);
      controllerDone = controller.run(leading.signal);
    });
    metrics.leader.set(0);
    if (result === 'lost') {
      leading.abort();
      await controllerDone;
      code = 1;
    }
    await stopping;
  } catch (err) {
    logger.error({ err }, 'the operator failed');
    code = 1;
    leading.abort();
    await controllerDone.catch(() => {});
  } finally {
    await producer.disconnect().catch(() => {});
    await wechat.close().catch(() => {});
    await pool.end().catch(() => {});
    await ops.close().catch(() => {});
  }
  logger.info({ code }, 'operator stopped');
  logger.flush();
  return code;
}
