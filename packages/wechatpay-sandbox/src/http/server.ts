import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { HEADER_REQUEST_ID } from '@paysync/wechatpay';
import { verifyMerchantRequest } from '../auth.ts';
import { type Counters, countRequest } from '../counters.ts';
import { paramError, SandboxError, systemError } from '../errors.ts';
import type { Faults } from '../faults.ts';
import type { Merchant } from '../merchants.ts';
import type { Platform } from '../platform.ts';
import type { Random } from '../random.ts';
import type { RateLimiter } from '../rate-limit.ts';
import { requestId, signedHeaders } from '../signing.ts';
import type { Clock } from '../time.ts';
import type { Route, RouteContext, Router } from './router.ts';

const BODY_LIMIT = 1024 * 1024;

export interface ServerDeps {
  router: Router;
  platform: Platform;
  merchants: ReadonlyMap<string, Merchant>;
  faults: () => Faults;
  counters: Counters;
  rateLimiter: RateLimiter;
  random: Random;
  clock: Clock;
  authWindowSeconds: number;
  /** Resolves after `ms` real milliseconds, or at once when the sandbox closes. */
  sleep: (ms: number) => Promise<void>;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) reject(new BodyTooLarge());
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The sandbox's HTTP server: WeChat's /v3 API (verified and signed) and the /sandbox control API. */
export function createServer(deps: ServerDeps): http.Server {
  return http.createServer((req, res) => {
    handle(deps, req, res).catch(() => {
      if (!res.headersSent) send(res, 500, JSON.stringify(systemError().toBody()), {});
      else res.destroy();
    });
  });
}

async function handle(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const pathWithQuery = req.url ?? '/';
  const url = new URL(pathWithQuery, 'http://sandbox.invalid');
  let matched: ReturnType<Router['match']>;
  try {
    matched = deps.router.match(method, url.pathname);
  } catch {
    matched = undefined;
  }
  if (!matched) {
    const error = new SandboxError(
      404,
      url.pathname.startsWith('/v3/') ? 'RESOURCE_NOT_EXISTS' : 'NOT_FOUND',
      '资源不存在',
    );
    countRequest(deps.counters, `${method} (unmatched)`, 404);
    send(res, 404, JSON.stringify(error.toBody()), {});
    return;
  }
  const { route, params } = matched;
  const label = `${method} ${route.template}`;
  if (route.kind === 'api' && deps.faults().down) {
    deps.counters.faults.connectionsReset += 1;
    req.socket.destroy();
    return;
  }
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (error) {
    const answer = error instanceof BodyTooLarge ? paramError('请求体过大') : paramError('请求体读取失败');
    finish(deps, req, res, route, label, answer.status, answer.toBody(), route.kind === 'api');
    return;
  }
  const ctx = { method, pathWithQuery, params, query: url.searchParams, headers: req.headers, body };
  if (route.kind === 'control') {
    const { status, payload } = await run(route, ctx as RouteContext);
    finish(deps, req, res, route, label, status, payload, false);
    return;
  }
  const { status, payload, signed, reset } = await api(deps, route, ctx);
  if (reset) {
    deps.counters.faults.connectionsReset += 1;
    req.socket.destroy();
    return;
  }
  finish(deps, req, res, route, label, status, payload, signed);
}

type Ctx = Omit<RouteContext, 'merchant'>;

interface ApiResult {
  status: number;
  payload: unknown;
  signed: boolean;
  reset?: boolean;
}

async function api(deps: ServerDeps, route: Route, ctx: Ctx): Promise<ApiResult> {
  const fault = deps.faults();
  const faultable = route.query === true || fault.faultScope === 'api';
  if (faultable && fault.queryLatencyMs > 0) await deps.sleep(fault.queryLatencyMs);
  let merchant: Merchant;
  try {
    merchant = verifyMerchantRequest(
      {
        method: ctx.method,
        pathWithQuery: ctx.pathWithQuery,
        authorization: ctx.headers.authorization,
        body: ctx.body,
      },
      deps.merchants,
      deps.clock(),
      deps.authWindowSeconds,
    );
  } catch (error) {
    deps.counters.signatureFailures += 1;
    const answer = error as SandboxError;
    return { status: answer.status, payload: answer.toBody(), signed: true };
  }
  if (route.query && !deps.rateLimiter.take(merchant.mchid)) {
    deps.counters.rateLimited += 1;
    return { status: 429, payload: { code: 'FREQUENCY_LIMITED', message: '频率超限' }, signed: true };
  }
  if (faultable && fault.failNextQueries > 0) {
    fault.failNextQueries -= 1;
    deps.counters.faults.injectedErrors += 1;
    return { status: fault.failStatus, payload: systemError(fault.failStatus).toBody(), signed: false };
  }
  if (faultable && fault.rateLimitShare > 0 && deps.random() < fault.rateLimitShare) {
    deps.counters.faults.injected429 += 1;
    return {
      status: 429,
      payload: { code: 'RATELIMIT_EXCEEDED', message: '请求超过频率限制' },
      signed: true,
    };
  }
  const { unsigned, ...result } = await run(route, { ...ctx, merchant });
  return { ...result, signed: !unsigned };
}

interface RunResult {
  status: number;
  payload: unknown;
  unsigned?: boolean;
  reset?: boolean;
}

async function run(route: Route, ctx: RouteContext): Promise<RunResult> {
  try {
    const result = await route.handler(ctx);
    return {
      status: result.status,
      payload: result.body,
      ...(result.unsigned ? { unsigned: true } : {}),
      ...(result.reset ? { reset: true } : {}),
    };
  } catch (error) {
    if (error instanceof SandboxError) return { status: error.status, payload: error.toBody() };
    return { status: 500, payload: systemError().toBody() };
  }
}

function finish(
  deps: ServerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  label: string,
  status: number,
  payload: unknown,
  signed: boolean,
): void {
  countRequest(deps.counters, label, status);
  if (Buffer.isBuffer(payload)) {
    // A file (a bill download): sent as it is, never signed, as WeChat does.
    res.writeHead(status, { [HEADER_REQUEST_ID]: requestId(), 'Content-Type': 'application/octet-stream' });
    res.end(payload);
    return;
  }
  const text = status === 204 || payload === undefined ? '' : JSON.stringify(payload);
  let headers: Record<string, string> = { [HEADER_REQUEST_ID]: requestId() };
  const unsigned = route.kind === 'api' && deps.faults().unsignedNextResponses > 0;
  if (unsigned) {
    deps.faults().unsignedNextResponses -= 1;
    deps.counters.faults.unsignedResponses += 1;
  }
  if (signed && !unsigned && route.kind === 'api') {
    const fault = deps.faults();
    const probe = fault.probeNextResponses > 0;
    if (probe) {
      fault.probeNextResponses -= 1;
      deps.counters.faults.responseProbes += 1;
    }
    const requested = req.headers['wechatpay-serial'];
    const signer = deps.platform.responseSigner(typeof requested === 'string' ? requested : undefined);
    headers = signedHeaders(signer, text, {
      now: deps.clock(),
      skewSeconds: fault.responseSkewSeconds,
      probe,
    });
  }
  send(res, status, text, headers);
}

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
  const all: Record<string, string> = { ...headers, Server: 'paysync-wechatpay-sandbox' };
  if (text.length > 0) all['Content-Type'] = 'application/json; charset=utf-8';
  res.writeHead(status, all);
  res.end(text);
}
