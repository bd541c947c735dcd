// callback-gateway's wiring: what it is built from, its start-up checks, how it starts and in which
// order it stops. GATEWAY_ROLE picks what it serves: the public notification receiver, the private
// order service, or both (a laptop, tests). The kernel (@paysync/observability runService) runs it:
// configuration errors, ops endpoints, signals, the stop deadline and exit codes are the kernel's.
import { topicNames } from '@paysync/contracts';
import { createPool } from '@paysync/db';
import { createIdempotentProducer, kafkaFromConfig } from '@paysync/kafka';
import {
  type BuiltService,
  createRegistry,
  describeError,
  type Logger,
  type ServiceDefinition,
  startHttpServer,
} from '@paysync/observability';
import { certificateArchiver } from '@paysync/orders';
import type { Kafka } from 'kafkajs';
import { createApp, type GatewayApp } from './app.ts';
import { type GatewayConfig, loadGatewayConfig, servesCallbacks, servesOrders } from './config.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import { createObservationPublisher, type ObservationPublisher } from './publisher.ts';
import { gatewayReadiness } from './readiness.ts';
import {
  enforceNotifyUrl,
  enforceTopicDurability,
  NotifyUrlRejectedError,
  TopicNotDurableError,
} from './startup.ts';
import { createReceiverKeys, createWeChat } from './wechat.ts';

/** The built gateway, with the parts a test of the running service reads (`RunningService.service`). */
export type GatewayService = BuiltService & {
  parts: { app: GatewayApp; publisher: ObservationPublisher; metrics: GatewayMetrics };
};

/**
 * Test seams, each for what no environment variable can say. `kafka`: where the gateway's Kafka
 * client comes from (default: the configuration). A fault test routes every connection through a
 * proxy it can cut; KAFKA_BROKERS cannot do that, the broker's metadata names its own address.
 */
export type GatewaySeams = { kafka?: (config: GatewayConfig, logger: Logger) => Kafka };

/** The gateway's definition; `gatewayService` is the one a real process runs. */
export function defineGatewayService(
  seams: GatewaySeams = {},
): ServiceDefinition<GatewayConfig, GatewayService> {
  return {
    name: 'callback-gateway',
    loadConfig: loadGatewayConfig,
    refusals: [NotifyUrlRejectedError, TopicNotDurableError],
    // In-flight requests get GATEWAY_SHUTDOWN_GRACE; the other steps share the 10 s after it.
    stopDeadlineMs: (config) => config.GATEWAY_SHUTDOWN_GRACE + 10_000,
    build(config, { logger }) {
      const registry = createRegistry('callback-gateway');
      const metrics = createGatewayMetrics(registry);
      // Refused before connecting to anything.
      enforceNotifyUrl(config.WECHATPAY_NOTIFY_URL, { production: config.production, logger, metrics });

      const pool = createPool({ url: config.MYSQL_URL, connectionLimit: config.GATEWAY_DB_POOL_SIZE });
      const kafka =
        seams.kafka?.(config, logger) ?? kafkaFromConfig(config, 'paysync-callback-gateway', logger);
      const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
      const { secrets } = config;
      const role = config.GATEWAY_ROLE;
      // The order service (and `all`) signs requests to WeChat Pay: its client downloads the platform
      // certificates and archives them. The public receiver holds no private key: it verifies with the
      // public key and the archived certificates.
      const signing =
        servesOrders(role) &&
        config.WECHATPAY_PRIVATE_KEY_FILE !== undefined &&
        config.WECHATPAY_MERCHANT_SERIAL_NO !== undefined &&
        secrets.privateKeyPem !== undefined
          ? createWeChat(
              {
                env: {
                  ...config,
                  WECHATPAY_PRIVATE_KEY_FILE: config.WECHATPAY_PRIVATE_KEY_FILE,
                  WECHATPAY_MERCHANT_SERIAL_NO: config.WECHATPAY_MERCHANT_SERIAL_NO,
                },
                secrets: { ...secrets, privateKeyPem: secrets.privateKeyPem },
                onCertificates: certificateArchiver(pool, (err) =>
                  logger.warn(
                    { error: describeError(err) },
                    'platform certificates not archived; retried at the next refresh',
                  ),
                ),
              },
              metrics,
            )
          : undefined;
      const keys =
        signing ??
        createReceiverKeys(
          {
            env: config,
            secrets,
            pool,
            onUnopenable: (serial) =>
              logger.warn(
                { serial },
                'an archived platform certificate cannot be opened with this APIv3 key',
              ),
          },
          metrics,
        );
      const publisher = createObservationPublisher({
        createProducer: () => createIdempotentProducer(kafka),
        onProducerReset: (err) =>
          logger.warn(
            { error: describeError(err) },
            'Kafka write failed: replacing the producer before the next write',
          ),
        topic: topics.paymentObservations,
        timeoutMs: config.GATEWAY_KAFKA_PUBLISH_TIMEOUT,
        metrics,
      });
      const gateway = createApp({
        logger,
        metrics,
        verifier: servesCallbacks(role) ? keys.verifier : undefined,
        publisher,
        pool,
        wechat: signing?.client,
        merchant: { mchid: config.WECHATPAY_MCHID, appids: config.WECHATPAY_APPID },
        apiV2Key: secrets.apiV2Key,
        notifyUrl: config.WECHATPAY_NOTIFY_URL,
        tokens:
          servesOrders(role) && config.GATEWAY_API_TOKEN !== undefined
            ? { write: config.GATEWAY_API_TOKEN, read: config.GATEWAY_API_READ_TOKEN }
            : undefined,
        limits: {
          maxBodyBytes: config.GATEWAY_MAX_BODY_BYTES,
          maxInFlight: config.GATEWAY_MAX_IN_FLIGHT,
          apiMaxInFlight: config.GATEWAY_API_MAX_IN_FLIGHT,
        },
        orders: {
          firstCheckDelayMs: config.GATEWAY_FIRST_CHECK_DELAY,
          defaultTtlMs: config.GATEWAY_DEFAULT_ORDER_TTL,
          maxPointsPerFen: config.GATEWAY_MAX_POINTS_PER_FEN,
          confirmWaitMs: config.GATEWAY_CONFIRM_WAIT,
          confirmMinIntervalMs: config.GATEWAY_CONFIRM_MIN_INTERVAL,
        },
      });

      let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
      let archiveReload: NodeJS.Timeout | undefined;
      return {
        registry,
        parts: { app: gateway, publisher, metrics },
        ops: { checks: gatewayReadiness({ publisher, keyStore: keys.keyStore }) },
        async start() {
          const admin = kafka.admin();
          await admin.connect();
          try {
            await enforceTopicDurability(admin, topics.paymentObservations, {
              production: config.production,
              logger,
            });
          } finally {
            await admin.disconnect();
          }
          await publisher.start();
          if (signing) await signing.client.start();
          else {
            await keys.keyStore.start().catch((err: unknown) => {
              // Not ready until a signing component (the order service, the reconciler) archived the
              // platform certificates: the archive is read again every few seconds until it has one,
              // and readiness says so meanwhile.
              logger.warn(
                { error: describeError(err) },
                'no verification key yet: not ready until one is archived',
              );
              archiveReload = setInterval(() => {
                keys.keyStore
                  .refresh()
                  .then(() => {
                    if (keys.keyStore.serials().certificates.length === 0) return;
                    clearInterval(archiveReload);
                    logger.info('archived platform certificates loaded: verification keys ready');
                  })
                  .catch((e: unknown) =>
                    logger.warn({ error: describeError(e) }, 'platform certificate archive not read'),
                  );
              }, 5000);
              archiveReload.unref();
            });
          }
          http = await startHttpServer(gateway.app, { host: config.GATEWAY_HOST, port: config.GATEWAY_PORT });
        },
        stop: [
          {
            name: 'stop accepting, finish in-flight requests',
            run: async () => {
              gateway.markShuttingDown();
              await http?.close(config.GATEWAY_SHUTDOWN_GRACE);
            },
          },
          { name: 'flush observations, disconnect the producer', run: () => publisher.stop() },
          {
            name: 'close WeChat Pay client',
            run: async () => {
              clearInterval(archiveReload);
              keys.keyStore.stop();
              await signing?.client.close();
            },
          },
          { name: 'close mysql pool', run: () => pool.end() },
        ],
        ready: () => ({
          url: http?.url,
          role,
          topic: topics.paymentObservations,
          production: config.production,
        }),
      };
    },
  };
}

export const gatewayService = defineGatewayService();
