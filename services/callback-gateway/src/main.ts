#!/usr/bin/env node
// callback-gateway composition root: read config, build dependencies, start, stop on SIGTERM.
// GATEWAY_ROLE picks what it serves: the public notification receiver, the private order service,
// or both (a laptop, tests).
import { ConfigError } from '@paysync/config';
import { topicNames } from '@paysync/contracts';
import { createPool } from '@paysync/db';
import { createIdempotentProducer, createKafka } from '@paysync/kafka';
import {
  createLogger,
  createRegistry,
  createShutdown,
  exitOnSignals,
  startOpsServer,
} from '@paysync/observability';
import { certificateArchiver } from '@paysync/orders';
import { createApp } from './app.ts';
import { errorSummary } from './callback.ts';
import { type GatewayConfig, loadGatewayConfig, servesCallbacks, servesOrders } from './config.ts';
import { startHttpServer } from './http/server.ts';
import { createGatewayMetrics } from './metrics.ts';
import { createObservationPublisher } from './publisher.ts';
import { gatewayReadiness } from './readiness.ts';
import {
  enforceNotifyUrl,
  enforceTopicDurability,
  NotifyUrlRejectedError,
  TopicNotDurableError,
} from './startup.ts';
import { createReceiverKeys, createWeChat } from './wechat.ts';

let config: GatewayConfig;
try {
  config = loadGatewayConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const logger = createLogger({ service: 'callback-gateway', level: config.LOG_LEVEL });
for (const w of config.warnings) logger.warn({ variable: w.variable }, `${w.variable}: ${w.message}`);
const registry = createRegistry('callback-gateway');
const metrics = createGatewayMetrics(registry);
try {
  enforceNotifyUrl(config.WECHATPAY_NOTIFY_URL, { production: config.production, logger, metrics });
} catch (err) {
  if (!(err instanceof NotifyUrlRejectedError)) throw err;
  logger.fatal({ notify_url: err.url, problems: err.check.problems.map((p) => p.code) }, err.message);
  console.error(err.message);
  logger.flush();
  process.exit(1);
}

const pool = createPool({ url: config.MYSQL_URL, connectionLimit: config.GATEWAY_DB_POOL_SIZE });
const kafka = createKafka({
  brokers: config.KAFKA_BROKERS,
  clientId: 'paysync-callback-gateway',
  logger,
  ...config.kafkaSecurity,
});
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
              { error: errorSummary(err) },
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
        logger.warn({ serial }, 'an archived platform certificate cannot be opened with this APIv3 key'),
    },
    metrics,
  );
const publisher = createObservationPublisher({
  createProducer: () => createIdempotentProducer(kafka),
  onProducerReset: (err) =>
    logger.warn(
      { error: errorSummary(err) },
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

const ops = await startOpsServer({
  registry,
  host: config.METRICS_HOST,
  port: config.METRICS_PORT,
  logger,
  checks: gatewayReadiness({ publisher, keyStore: keys.keyStore }),
});

const shutdown = createShutdown(logger, { stepTimeoutMs: config.GATEWAY_SHUTDOWN_GRACE + 5000 });
let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
shutdown.add({ name: 'mark not ready', run: async () => ops.markShuttingDown() });
shutdown.add({
  name: 'stop accepting, finish in-flight requests',
  run: async () => {
    gateway.markShuttingDown();
    await http?.close(config.GATEWAY_SHUTDOWN_GRACE);
  },
});
shutdown.add({ name: 'flush observations, disconnect the producer', run: () => publisher.stop() });
shutdown.add({
  name: 'close WeChat Pay client',
  run: async () => {
    keys.keyStore.stop();
    await signing?.client.close();
  },
});
shutdown.add({ name: 'close mysql pool', run: () => pool.end() });
shutdown.add({ name: 'close ops server', run: () => ops.close() });
shutdown.add({ name: 'flush logs', run: async () => logger.flush() });
exitOnSignals(shutdown);

try {
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
      // platform certificates: the archive is read again every few seconds until it has one, and
      // readiness says so meanwhile.
      logger.warn({ error: errorSummary(err) }, 'no verification key yet: not ready until one is archived');
      const reload = setInterval(async () => {
        await keys.keyStore.refresh();
        if (keys.keyStore.serials().certificates.length === 0) return;
        clearInterval(reload);
        logger.info('archived platform certificates loaded: verification keys ready');
      }, 5000);
      reload.unref();
    });
  }
  http = await startHttpServer(gateway.app, { host: config.GATEWAY_HOST, port: config.GATEWAY_PORT });
} catch (err) {
  if (err instanceof TopicNotDurableError) console.error(err.message);
  logger.fatal({ error: errorSummary(err) }, 'callback-gateway could not start');
  process.exit((await shutdown.run('start-up failed')) || 1);
}
logger.info(
  { url: http.url, ops: ops.url, role, topic: topics.paymentObservations, production: config.production },
  'callback-gateway ready',
);
