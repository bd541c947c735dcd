import { isDatabaseUnavailable } from '@paysync/db';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { errorSummary } from '../callback.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { type ApiResult, createOrder, type OrderDeps } from '../orders/create.ts';
import { type ReadDeps, readOrder } from '../orders/read.ts';
import { createRefund, type RefundDeps, readRefunds } from '../orders/refunds.ts';
import { sendApiError } from './api-errors.ts';
import { type ApiTokens, requireToken } from './auth.ts';

export const ORDERS_PATH = '/api/payment/orders';

export type OrdersRouteDeps = OrderDeps &
  ReadDeps &
  Omit<RefundDeps, 'wechat'> & { wechat: OrderDeps['wechat'] & RefundDeps['wechat'] } & {
    tokens: ApiTokens;
    metrics: GatewayMetrics;
  };

const isJson = (req: Request) => req.is(['application/json', 'application/*+json']) !== false;

/** Times and counts each API request by its route template, never by order number. */
function measured(metrics: GatewayMetrics, route: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    res.once('finish', () => {
      metrics.apiRequests.inc({ route, method: req.method, status: String(res.statusCode) });
      metrics.apiDuration.observe({ route }, (performance.now() - started) / 1000);
    });
    next();
  };
}

function send(res: Response, result: ApiResult): void {
  if (result.status === 429 && typeof result.body.retry_after_ms === 'number') {
    res.setHeader('Retry-After', String(Math.max(1, Math.ceil(result.body.retry_after_ms / 1000))));
  }
  res.status(result.status).json(result.body);
}

/** The merchant-facing order API: create (write token) and read/confirm (write or read token). */
export function ordersRouter(deps: OrdersRouteDeps): Router {
  const router = Router();
  const byNo = `${ORDERS_PATH}/:outTradeNo`;

  router.post(
    ORDERS_PATH,
    measured(deps.metrics, ORDERS_PATH),
    requireToken(deps.tokens, 'write'),
    (req, res, next) => {
      if (!isJson(req)) return sendApiError(res, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
      next();
    },
    express.json({ limit: '16kb', type: () => true, strict: true }),
    async (req, res) => send(res, await createOrder(deps, req.body)),
  );

  const refunds = `${byNo}/refunds`;
  const refundByNo = `${refunds}/:outRefundNo`;
  router.post(
    refunds,
    measured(deps.metrics, refunds),
    requireToken(deps.tokens, 'write'),
    (req, res, next) => {
      if (!isJson(req)) return sendApiError(res, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
      next();
    },
    express.json({ limit: '16kb', type: () => true, strict: true }),
    async (req, res) => send(res, await createRefund(deps, String(req.params.outTradeNo), req.body)),
  );
  router.get(refunds, measured(deps.metrics, refunds), requireToken(deps.tokens, 'read'), async (req, res) =>
    send(res, await readRefunds(deps, String(req.params.outTradeNo))),
  );
  router.get(
    refundByNo,
    measured(deps.metrics, refundByNo),
    requireToken(deps.tokens, 'read'),
    async (req, res) =>
      send(res, await readRefunds(deps, String(req.params.outTradeNo), String(req.params.outRefundNo))),
  );

  router.get(byNo, measured(deps.metrics, byNo), requireToken(deps.tokens, 'read'), async (req, res) => {
    const confirm = req.query.confirm === 'true' || req.query.confirm === '1';
    send(res, await readOrder(deps, String(req.params.outTradeNo), confirm));
  });

  router.use(ORDERS_PATH, (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    if (e?.type === 'entity.too.large') return sendApiError(res, 'PAYLOAD_TOO_LARGE', 'body too large');
    if (e?.type === 'entity.parse.failed') return sendApiError(res, 'INVALID_JSON', 'body is not valid JSON');
    if (typeof e?.status === 'number' && e.status < 500 && typeof e.type === 'string') {
      return sendApiError(res, 'BAD_REQUEST', 'request body could not be read');
    }
    if (isDatabaseUnavailable(err)) {
      // The gateway stays ready for notifications; the order API tells its caller to come back.
      deps.logger.warn({ error: errorSummary(err) }, 'order API: database unavailable');
      res.setHeader('Retry-After', '5');
      return sendApiError(res, 'DATABASE_UNAVAILABLE', 'the order database is unavailable; retry later');
    }
    deps.logger.error({ error: errorSummary(err) }, 'order API request failed');
    sendApiError(res, 'INTERNAL_ERROR', 'internal error');
  });
  return router;
}
