import { topicNames } from '@paysync/contracts';
import { createPool } from '@paysync/db';
import { createIdempotentProducer, kafkaFromConfig } from '@paysync/kafka';
import { dependencyChecks, describeError, type ServiceDefinition } from '@paysync/observability';
import { certificateArchiver } from '@paysync/orders';
import { AdaptiveRateLimiter, createKafkaPublisher } from '@paysync/reconcile';
import { createWeChatClient } from '@paysync/wechatpay';
import type { ReconcilerConfig } from '../config.ts';
import { loadOperatorConfig, type OperatorConfig } from './config.ts';
import { RepairController } from './controller.ts';
import { executeRepair } from './execute.ts';
import { createKube } from './kube.ts';
import { LeaderElector } from './leader.ts';
import { OperatorMetrics } from './metrics.ts';

export type OperatorSetup = OperatorConfig & Pick<ReconcilerConfig, 'LOG_LEVEL' | 'warnings'>;

/**
 * The PaymentRepair operator (`paysync-reconciler operator`): waits for the Lease, then executes
 * PaymentRepairs until SIGTERM (exit 0) or until it loses the Lease (exit 1: the Deployment restarts
 * it as a follower). The kernel (@paysync/observability runService) runs it: exit 2 is bad
 * configuration, 4 a stop that missed its deadline.
 */
export const operatorService: ServiceDefinition<OperatorSetup> = {
  name: 'reconciler-operator',
  loadConfig: (env) => {
    const config = loadOperatorConfig(env);
    return { ...config, LOG_LEVEL: config.reconciler.LOG_LEVEL, warnings: config.reconciler.warnings };
  },
  // The Deployment gives 60 s: finishing the orders in flight and releasing the Lease fit in 50.
  stopDeadlineMs: () => 50_000,
  build(config, { logger, crash }) {
    const { reconciler: rc, operator: op } = config;
    const pool = createPool({ url: rc.MYSQL_URL, connectionLimit: rc.RECONCILER_DB_POOL_SIZE });
    const kafka = kafkaFromConfig(rc, 'paysync-reconciler-operator', logger);
    const producer = createIdempotentProducer(kafka);
    const wechat = createWeChatClient(rc, rc.secrets, {
      userAgent: 'paysync-reconciler-operator/0.1 (node)',
      onCertificates: certificateArchiver(pool, (err) =>
        logger.warn({ error: describeError(err) }, 'platform certificates not archived'),
      ),
    });
    const publisher = createKafkaPublisher({ producer, topics: topicNames(rc.KAFKA_TOPIC_PREFIX) });
    const kube = createKube();
    const metrics = new OperatorMetrics();
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
    const leading = new AbortController();
    const release = new AbortController();
    let controllerDone: Promise<void> = Promise.resolve();
    let electing: Promise<void> = Promise.resolve();
    return {
      registry: metrics.registry,
      ops: {
        host: op.metricsHost,
        port: op.metricsPort,
        checks: [
          ...dependencyChecks({ mysql: pool }),
          { name: 'kubernetes', check: async () => void (await kube.version.getCode()) },
        ],
      },
      async start() {
        await producer.connect();
        await wechat.start();
        logger.info(
          { namespace: op.namespace, lease: op.lease, identity: op.identity },
          'waiting for the lease',
        );
        electing = elector
          .run(release.signal, () => {
            metrics.leader.set(1);
            controllerDone = controller.run(leading.signal);
          })
          .then(
            async (result) => {
              metrics.leader.set(0);
              if (result !== 'lost') return;
              leading.abort();
              await controllerDone.catch(() => {});
              crash('lost the lease: exiting to restart as a follower');
            },
            (err: unknown) => {
              metrics.leader.set(0);
              leading.abort();
              crash('the operator failed', err);
            },
          );
      },
      stop: [
        {
          name: 'finish the orders in flight',
          run: async () => {
            leading.abort();
            await controllerDone;
          },
        },
        {
          name: 'release the lease',
          run: async () => {
            release.abort();
            await electing;
          },
        },
        { name: 'disconnect the producer', run: () => producer.disconnect() },
        { name: 'close WeChat Pay client', run: () => wechat.close() },
        { name: 'close mysql pool', run: () => pool.end() },
      ],
      ready: () => ({ namespace: op.namespace, lease: op.lease, identity: op.identity }),
    };
  },
};
