// alerting's wiring: configuration and routes, what it is built from, how it starts and in which
// order it stops. The kernel (@paysync/observability runService) runs it: configuration errors, ops
// endpoints, signals, the stop deadline and exit codes are the kernel's.
import { topicNames } from '@paysync/contracts';
import { createPool } from '@paysync/db';
import { kafkaFromConfig } from '@paysync/kafka';
import {
  type BuiltService,
  createRegistry,
  dependencyChecks,
  type ServiceDefinition,
} from '@paysync/observability';
import { type AlertingConfig, loadAlertingConfig } from './config.ts';
import { RoutesConfigError } from './errors.ts';
import { loadRoutes, type RoutesFile } from './routes.ts';
import { processSecrets } from './secrets.ts';
import { type AlertingService, createAlertingService } from './service.ts';

export type AlertingSetup = AlertingConfig & { routes: RoutesFile };

/** The built alerting service, with the part a test of the running service reads (`RunningService.service`). */
export type BuiltAlerting = BuiltService & { parts: { alerting: AlertingService } };

export const alertingService: ServiceDefinition<AlertingSetup, BuiltAlerting> = {
  name: 'alerting',
  loadConfig: (env) => {
    const config = loadAlertingConfig(env);
    // The routes' `{ env: NAME }` secrets come from the environment the service is configured by.
    const routes = loadRoutes(config.ALERTING_ROUTES_FILE, {
      env,
      readFile: processSecrets.readFile,
      production: config.production,
    });
    return { ...config, routes };
  },
  configErrors: [RoutesConfigError],
  build(config, { logger, crash }) {
    const pool = createPool({ url: config.MYSQL_URL, connectionLimit: config.ALERTING_DB_POOL_SIZE });
    const kafka = kafkaFromConfig(config, 'paysync-alerting', logger);
    const admin = kafka.admin();
    const registry = createRegistry('alerting');
    const service = createAlertingService({
      pool,
      kafka,
      registry,
      logger,
      routes: config.routes,
      topics: topicNames(config.KAFKA_TOPIC_PREFIX),
      settings: {
        groupId: config.ALERTING_GROUP_ID,
        http: { host: config.ALERTING_HOST, port: config.ALERTING_PORT, token: config.webhookToken },
        runbookBaseUrl: config.ALERTING_RUNBOOK_BASE_URL,
        batchMax: config.ALERTING_BATCH_MAX,
        breaker: {
          errorThresholdPercentage: config.ALERTING_BREAKER_ERROR_PERCENTAGE,
          volumeThreshold: config.ALERTING_BREAKER_VOLUME_THRESHOLD,
          rollingCountTimeoutMs: config.ALERTING_BREAKER_WINDOW,
          resetTimeoutMs: config.ALERTING_BREAKER_RESET_TIMEOUT,
        },
        dispatch: {
          pollIntervalMs: config.ALERTING_POLL_INTERVAL,
          retry: { baseMs: config.ALERTING_RETRY_BASE, maxMs: config.ALERTING_RETRY_MAX },
          maxAgeMs: config.ALERTING_DELIVERY_MAX_AGE,
          // Email may take connection + greeting + socket timeouts: keep the lease well past them.
          leaseMs: config.ALERTING_SEND_TIMEOUT * 4 + 10_000,
          sendTimeoutMs: config.ALERTING_SEND_TIMEOUT,
        },
      },
      onCrash: (err) => crash('consumer crashed', err),
    });
    return {
      registry,
      ops: { checks: dependencyChecks({ mysql: pool, kafka: admin }) },
      async start() {
        await admin.connect();
        await service.start();
      },
      stop: [
        { name: 'stop intake, finish messages being sent, close channels', run: () => service.stop() },
        { name: 'close kafka admin', run: () => admin.disconnect() },
        { name: 'close mysql pool', run: () => pool.end() },
      ],
      ready: () => ({ url: service.httpUrl(), group: config.ALERTING_GROUP_ID }),
      parts: { alerting: service },
    };
  },
};
