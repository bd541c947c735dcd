import type { V2Key } from '@paysync/wechatpay';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { type CallbackDeps, finish, notificationLogger, receiveV3Notification } from '../callback.ts';
import { receiveV2Notification, v2FailReply } from '../callback-v2.ts';
import { callbackFailure, failureOutcome } from '../errors.ts';
import { CALLBACK_PATH, CALLBACK_V2_PATH } from '../notify-url.ts';

export type CallbackRouteDeps = CallbackDeps & {
  maxBodyBytes: number;
  /** Enables the APIv2 (XML) route. */
  apiV2Key?: V2Key | undefined;
};

const isJson = (req: Request) => req.is(['application/json', 'application/*+json']) !== false;

/**
 * WeChat Pay's notification routes. The raw body is captured before any parser (the signature is
 * over the exact bytes) and bounded: an oversized body is refused from its Content-Length.
 */
export function callbackRouter(routeDeps: CallbackRouteDeps): Router {
  const deps = { ...routeDeps, logger: notificationLogger(routeDeps.logger) };
  const router = Router();
  const raw = express.raw({ type: () => true, limit: deps.maxBodyBytes });

  router.post(
    CALLBACK_PATH,
    (req, res, next) => {
      if (isJson(req)) return next();
      const started = performance.now();
      res.status(415).json({ code: 'FAIL', message: 'send application/json' });
      finish(deps, { api: 'v3', outcome: 'unsupported_media_type', status: 415, latency_ms: 0 }, started);
    },
    raw,
    async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const answer = await receiveV3Notification(deps, { headers: req.headers, body });
      if (answer.body) res.status(answer.status).json(answer.body);
      else res.status(answer.status).end();
    },
  );

  if (deps.apiV2Key) {
    const v2 = { ...deps, apiV2Key: deps.apiV2Key };
    router.post(CALLBACK_V2_PATH, raw, async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const answer = await receiveV2Notification(v2, { body });
      res.status(answer.status).type('application/xml').send(answer.xml);
    });
  }

  // Body-reading failures (too large, aborted, bad encoding) on the callback routes.
  router.use(CALLBACK_PATH, (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const started = performance.now();
    const failure = callbackFailure(err);
    const api = req.path.endsWith('/v2') ? 'v2' : 'v3';
    if (api === 'v2') res.status(failure.status).type('application/xml').send(v2FailReply(failure.message));
    else res.status(failure.status).json({ code: 'FAIL', message: failure.message });
    finish(deps, { api, outcome: failureOutcome(failure), status: failure.status, latency_ms: 0 }, started);
  });
  return router;
}
