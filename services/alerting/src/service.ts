import { type TopicNames, topicNames } from '@paysync/contracts';
import type { Pool } from '@paysync/db';
import type { Logger, Registry } from '@paysync/observability';
import type { Kafka } from 'kafkajs';
import { type BreakerSettings, createChannelBreaker, RateLimiter } from './breaker.ts';
import { buildChannels, DEFAULT_RATE_PER_MINUTE } from './channels/index.ts';
import { type AlertConsumer, createAlertConsumer } from './consumer.ts';
import {
  type ChannelRuntime,
  createDispatcher,
  type Dispatcher,
  type DispatcherSettings,
} from './dispatcher.ts';
import { type AlertingHttpServer, startAlertingHttpServer } from './http.ts';
import { createIntake, type Intake } from './intake.ts';
import { BREAKER_STATE_VALUE, createAlertingMetrics } from './metrics.ts';
import type { RoutesFile } from './routes.ts';

export type AlertingSettings = {
  groupId: string;
  http: { host: string; port: number; token?: string | undefined };
  runbookBaseUrl: string;
  batchMax: number;
  breaker: BreakerSettings;
  dispatch: DispatcherSettings;
};

export type AlertingService = {
  httpUrl(): string;
  intake: Intake;
  dispatcher: Dispatcher;
  channels: readonly ChannelRuntime[];
  consumer: AlertConsumer;
  /** Starts the HTTP listener, the delivery loop and the Kafka consumer. */
  start(): Promise<void>;
  /** Stops intake (503, consumer leaves), then waits for messages being sent, then closes channels. */
  stop(): Promise<void>;
};

/**
 * The alerting service from its parts: routes (with resolved secrets), a MySQL pool, a Kafka
 * client and a registry; compose.ts builds these from the environment.
 */
export function createAlertingService(deps: {
  pool: Pool;
  kafka: Kafka;
  registry: Registry;
  logger: Logger;
  routes: RoutesFile;
  settings: AlertingSettings;
  topics?: TopicNames;
  onCrash?: (err: unknown) => void;
}): AlertingService {
  const { pool, logger, routes, settings } = deps;
  const topics = deps.topics ?? topicNames();
  const channels = buildChannels(routes, { timeoutMs: settings.dispatch.sendTimeoutMs });
  const metrics = createAlertingMetrics(deps.registry, { pool, channels: channels.map((c) => c.name) });
  const runtimes: ChannelRuntime[] = channels.map((channel) => {
    const config = routes.channels[channel.name];
    const breaker = createChannelBreaker(channel, settings.breaker, (state) => {
      metrics.breakerState.set({ channel: channel.name }, BREAKER_STATE_VALUE[state]);
      const log = state === 'open' ? logger.error.bind(logger) : logger.info.bind(logger);
      log({ channel: channel.name, target: channel.target, state }, `alert channel breaker ${state}`);
      if (state !== 'open') dispatcher.wake();
    });
    return {
      channel,
      breaker,
      limiter: new RateLimiter(config?.rateLimitPerMinute ?? DEFAULT_RATE_PER_MINUTE[channel.kind]),
      batchMax: config?.batchMax ?? settings.batchMax,
    };
  });
  const dispatcher = createDispatcher({
    pool,
    channels: runtimes,
    metrics,
    logger,
    settings: settings.dispatch,
  });
  const intake = createIntake({ pool, routes, metrics, logger, onQueued: () => dispatcher.wake() });
  const consumer = createAlertConsumer({
    kafka: deps.kafka,
    topic: topics.alerts,
    groupId: settings.groupId,
    intake,
    metrics,
    logger,
    runbookBaseUrl: settings.runbookBaseUrl,
    maxAgeMs: settings.dispatch.maxAgeMs,
    ...(deps.onCrash ? { onCrash: deps.onCrash } : {}),
  });
  let http: AlertingHttpServer | undefined;

  return {
    httpUrl: () => {
      if (!http) throw new Error('the alerting service is not started');
      return http.url;
    },
    intake,
    dispatcher,
    channels: runtimes,
    consumer,
    async start() {
      http = await startAlertingHttpServer({
        intake,
        metrics,
        logger,
        host: settings.http.host,
        port: settings.http.port,
        token: settings.http.token,
      });
      dispatcher.start();
      await consumer.start();
      logger.info(
        { channels: channels.map((c) => ({ name: c.name, target: c.target })), routes: routes.routes.length },
        'alert channels configured',
      );
    },
    async stop() {
      http?.markShuttingDown();
      await consumer.stop();
      await http?.close();
      await dispatcher.stop();
      for (const rt of runtimes) {
        rt.breaker.shutdown();
        await rt.channel.close();
      }
    },
  };
}
