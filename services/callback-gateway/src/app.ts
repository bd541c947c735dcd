import type { Clock } from '@paysync/contracts';
import type { Pool } from '@paysync/db';
import type { Logger } from '@paysync/observability';
import type { NotificationVerifier, V2Key } from '@paysync/wechatpay';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { errorSummary } from './callback.ts';
import { v2FailReply } from './callback-v2.ts';
import { sendApiError } from './http/api-errors.ts';
import { callbackRouter } from './http/callback-routes.ts';
import { inFlightLimit } from './http/in-flight.ts';
import { ORDERS_PATH, ordersRouter } from './http/orders-routes.ts';
import type { GatewayMetrics } from './metrics.ts';
import { CALLBACK_PATH } from './notify-url.ts';
import type { Merchant } from './observation.ts';
import type { WeChatOrders } from './orders/create.ts';
import type { ObservationPublisher } from './publisher.ts';
import { MinIntervalLimiter } from './rate-limit.ts';

/**
 * Everything the gateway's HTTP side needs, built by main.ts (or a test) from real parts. Without
 * `verifier` it serves no WeChat Pay callbacks (the order service); without `wechat` and `tokens`
 * no order API (the public notification receiver, which holds no key that signs requests).
 */
export type AppDeps = {
  logger: Logger;
  metrics: GatewayMetrics;
  verifier?: NotificationVerifier | undefined;
  publisher: ObservationPublisher;
  pool: Pool;
  wechat?: WeChatOrders | undefined;
  merchant: Merchant;
  apiV2Key?: V2Key | undefined;
  notifyUrl: string;
  tokens?: { write: string; read?: string | undefined } | undefined;
  limits: {
    maxBodyBytes: number;
    maxInFlight: number;
    apiMaxInFlight: number;
  };
  orders: {
    firstCheckDelayMs: number;
    defaultTtlMs: number;
    maxPointsPerFen: number;
    confirmWaitMs: number;
    confirmMinIntervalMs: number;
  };
  clock?: Clock;
  newId?: () => string;
};

export type GatewayApp = {
  app: Express;
  /** From now on every request is answered 503 with `Connection: close` (graceful shutdown). */
  markShuttingDown(): void;
  /** Requests being handled now. */
  inFlight(): number;
};

/** The gateway's express application: WeChat Pay callbacks and the merchant order API. */
export function createApp(deps: AppDeps): GatewayApp {
  let shuttingDown = false;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  const callbackLimit = inFlightLimit({
    max: deps.limits.maxInFlight,
    shuttingDown: () => shuttingDown,
    onChange: (n) => deps.metrics.inFlight.set({ group: 'callback' }, n),
    reject: (res, reason) => {
      deps.metrics.notifications.inc({ api: res.req.path.endsWith('/v2') ? 'v2' : 'v3', outcome: reason });
      const message = reason === 'busy' ? 'too many notifications in flight' : 'shutting down';
      if (res.req.path.endsWith('/v2')) res.status(503).type('application/xml').send(v2FailReply(message));
      else res.status(503).json({ code: 'FAIL', message });
    },
  });
  const apiLimit = inFlightLimit({
    max: deps.limits.apiMaxInFlight,
    shuttingDown: () => shuttingDown,
    onChange: (n) => deps.metrics.inFlight.set({ group: 'api' }, n),
    reject: (res, reason) => {
      sendApiError(res, reason === 'busy' ? 'BUSY' : 'SHUTTING_DOWN', 'try again shortly');
    },
  });

  if (deps.verifier) {
    app.use(CALLBACK_PATH, callbackLimit.middleware);
    app.use(
      callbackRouter({
        verifier: deps.verifier,
        publisher: deps.publisher,
        merchant: deps.merchant,
        metrics: deps.metrics,
        logger: deps.logger,
        maxBodyBytes: deps.limits.maxBodyBytes,
        apiV2Key: deps.apiV2Key,
        ...(deps.clock ? { clock: deps.clock } : {}),
        ...(deps.newId ? { newId: deps.newId } : {}),
      }),
    );
  }

  if (deps.wechat && deps.tokens) {
    app.use(ORDERS_PATH, apiLimit.middleware);
    app.use(
      ordersRouter({
        pool: deps.pool,
        wechat: deps.wechat,
        publisher: deps.publisher,
        logger: deps.logger,
        metrics: deps.metrics,
        tokens: deps.tokens,
        mchid: deps.merchant.mchid,
        appid: deps.merchant.appids[0] as string,
        notifyUrl: deps.notifyUrl,
        firstCheckDelayMs: deps.orders.firstCheckDelayMs,
        defaultTtlMs: deps.orders.defaultTtlMs,
        maxPointsPerFen: deps.orders.maxPointsPerFen,
        confirmWaitMs: deps.orders.confirmWaitMs,
        limiter: new MinIntervalLimiter({
          intervalMs: deps.orders.confirmMinIntervalMs,
          ...(deps.clock ? { clock: deps.clock } : {}),
        }),
        ...(deps.clock ? { clock: deps.clock } : {}),
      }),
    );
  }

  app.use((_req: Request, res: Response) => {
    sendApiError(res, 'NOT_FOUND', 'no such route');
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    deps.logger.error({ error: errorSummary(err) }, 'request failed');
    if (!res.headersSent) sendApiError(res, 'INTERNAL_ERROR', 'internal error');
  });

  return {
    app,
    markShuttingDown() {
      shuttingDown = true;
    },
    inFlight: () => callbackLimit.count + apiLimit.count,
  };
}
