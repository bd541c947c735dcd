import type { KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type CircuitBreaker from 'opossum';
import { Agent, type Dispatcher, request } from 'undici';
import { signRequestAsync } from './authorization.ts';
import { type BreakerOptions, type BreakerState, breakerState, createBreaker } from './breaker.ts';
import { BACKUP_BASE_URL, PRIMARY_BASE_URL, WECHATPAY_HEADERS } from './constants.ts';
import {
  CircuitOpenError,
  ClientClosedError,
  InvalidConfigError,
  NetworkError,
  TimeoutError,
  WeChatPayApiError,
  WeChatPayError,
} from './errors.ts';
import {
  type CallOutcome,
  classifyResponse,
  outcomeOf,
  type RawResponse,
  type ResponseVerifier,
} from './responses.ts';
import { randomNonce } from './sign.ts';
import type { Clock } from './verify-message.ts';

export interface TransportOptions {
  mchid: string;
  /** Serial of the merchant API certificate (`serial_no` in Authorization). */
  merchantSerialNo: string;
  privateKey: KeyObject | string;
  /** Primary first, then backups. Origins only (no path). Default api.mch / api2.mch.weixin.qq.com. */
  baseUrls?: string[];
  /** Allow http:// base URLs (tests against a loopback sandbox). Default false. */
  allowInsecureHttp?: boolean;
  /** Per-attempt timeout. Default 10 s. */
  timeoutMs?: number;
  /** Extra attempts after a 5xx, network error or timeout, alternating hosts. Default 2. */
  retries?: number;
  /** First pause between attempts, doubled each time. Default 100 ms. */
  retryDelayMs?: number;
  userAgent?: string;
  /** Sent as `Wechatpay-Serial` so WeChat signs responses with the public key (public-key mode). */
  wechatpaySerial?: string;
  breaker?: BreakerOptions;
  clock?: Clock;
  nonce?: () => string;
  dispatcher?: Dispatcher;
  onEvent?: (event: ClientEvent) => void;
  verifier: ResponseVerifier;
}

export type AttemptFailure = 'network_error' | 'timeout' | 'server_error';

export type ClientEvent =
  | {
      type: 'call';
      operation: string;
      outcome: CallOutcome;
      attempts: number;
      durationMs: number;
      status?: number;
    }
  | {
      type: 'attempt_failed';
      operation: string;
      baseUrl: string;
      attempt: number;
      reason: AttemptFailure;
      status?: number;
    }
  | { type: 'breaker'; state: BreakerState };

export interface ClientStats {
  breakerState: BreakerState;
  calls: Partial<Record<CallOutcome, number>>;
  /** Attempts beyond the first. */
  retries: number;
  /** Attempts sent to a backup host. */
  failovers: number;
}

export interface PreparedRequest {
  operation: string;
  method: 'GET' | 'POST';
  pathWithQuery: string;
  /** JSON text, exactly what is signed and sent. */
  body?: string;
  /** Verify the 2xx response signature (off only for the certificate bootstrap, which verifies itself). */
  verify: boolean;
}

function checkBaseUrl(raw: string, allowInsecureHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidConfigError('base URL is not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowInsecureHttp)) {
    throw new InvalidConfigError('base URL must be https (http only with allowInsecureHttp)');
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new InvalidConfigError('base URL must be an origin without path, query or credentials');
  }
  return url.origin;
}

function toTyped(error: unknown): WeChatPayError {
  if (error instanceof WeChatPayError) return error;
  const code = (error as { code?: unknown })?.code;
  if (code === 'EOPENBREAKER') return new CircuitOpenError();
  if (code === 'ESHUTDOWN') return new ClientClosedError();
  return new NetworkError('unexpected failure calling WeChat Pay', { cause: error });
}

/** Signs, sends, retries and fails over; wraps each call in the circuit breaker; reports outcomes. */
export class Transport {
  readonly #options: TransportOptions;
  readonly #baseUrls: string[];
  readonly #dispatcher: Dispatcher;
  readonly #ownDispatcher: boolean;
  readonly #breaker: CircuitBreaker<[PreparedRequest], RawResponse & { attempts: number }>;
  #closed = false;
  /** How many attempts a failed call made, for its 'call' event. */
  readonly #attemptsOf = new WeakMap<WeChatPayError, number>();
  readonly #stats: ClientStats = { breakerState: 'closed', calls: {}, retries: 0, failovers: 0 };

  constructor(options: TransportOptions) {
    this.#options = options;
    const allow = options.allowInsecureHttp ?? false;
    this.#baseUrls = (options.baseUrls ?? [PRIMARY_BASE_URL, BACKUP_BASE_URL]).map((u) =>
      checkBaseUrl(u, allow),
    );
    if (this.#baseUrls.length === 0) throw new InvalidConfigError('at least one base URL is needed');
    if ((options.retries ?? 2) < 0) throw new InvalidConfigError('retries must not be negative');
    this.#ownDispatcher = options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connections: 64 });
    this.#breaker = createBreaker(
      (req: PreparedRequest) => this.#attempts(req),
      options.breaker ?? {},
      (state) => {
        this.#stats.breakerState = state;
        this.#emit({ type: 'breaker', state });
      },
    );
  }

  get breakerState(): BreakerState {
    return breakerState(this.#breaker);
  }

  stats(): ClientStats {
    return { ...this.#stats, breakerState: this.breakerState, calls: { ...this.#stats.calls } };
  }

  /** Runs one call through the breaker. Throws only WeChatPayError subclasses. */
  async call(req: PreparedRequest): Promise<RawResponse> {
    const started = performance.now();
    let response: RawResponse & { attempts: number };
    try {
      response = await this.#breaker.fire(req);
    } catch (error) {
      const typed = toTyped(error);
      const status = typed instanceof WeChatPayApiError ? typed.status : undefined;
      this.#record(req.operation, outcomeOf(typed), this.#attemptsOf.get(typed) ?? 0, started, status);
      throw typed;
    }
    this.#record(req.operation, 'success', response.attempts, started, response.status);
    const { attempts: _attempts, ...raw } = response;
    return raw;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#breaker.shutdown();
    if (this.#ownDispatcher) await this.#dispatcher.close();
  }

  async #attempts(req: PreparedRequest): Promise<RawResponse & { attempts: number }> {
    const o = this.#options;
    const timestamp = Math.floor((o.clock ?? Date.now)() / 1000);
    const authorization = await signRequestAsync({
      mchid: o.mchid,
      serialNo: o.merchantSerialNo,
      privateKey: o.privateKey,
      method: req.method,
      pathWithQuery: req.pathWithQuery,
      body: req.body ?? '',
      timestamp,
      nonce: (o.nonce ?? randomNonce)(),
    });
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': o.userAgent ?? 'paysync-wechatpay/0.1 (node)',
      authorization,
      ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(o.wechatpaySerial ? { [WECHATPAY_HEADERS.serial.toLowerCase()]: o.wechatpaySerial } : {}),
    };
    const total = (o.retries ?? 2) + 1;
    let lastError: WeChatPayError | undefined;
    for (let attempt = 0; attempt < total; attempt++) {
      if (attempt > 0) {
        this.#stats.retries++;
        await sleep((o.retryDelayMs ?? 100) * 2 ** (attempt - 1));
      }
      const baseUrl = this.#baseUrls[attempt % this.#baseUrls.length] as string;
      if (attempt % this.#baseUrls.length !== 0) this.#stats.failovers++;
      const raw = await this.#send(baseUrl, req, headers).catch((error: WeChatPayError) => error);
      if (raw instanceof WeChatPayError) {
        lastError = raw;
        this.#emit({
          type: 'attempt_failed',
          operation: req.operation,
          baseUrl,
          attempt,
          reason: outcomeOf(raw) as AttemptFailure,
        });
        continue;
      }
      const result = await classifyResponse(raw, req.verify, o.verifier);
      if (result.retry) {
        lastError = result.error;
        this.#emit({
          type: 'attempt_failed',
          operation: req.operation,
          baseUrl,
          attempt,
          reason: 'server_error',
          status: raw.status,
        });
        continue;
      }
      if (result.error) {
        this.#attemptsOf.set(result.error, attempt + 1);
        throw result.error;
      }
      return { ...raw, attempts: attempt + 1 };
    }
    // The loop ran at least once (total >= 1), and every path that did not return set lastError.
    const failure = lastError ?? new NetworkError();
    this.#attemptsOf.set(failure, total);
    throw failure;
  }

  async #send(baseUrl: string, req: PreparedRequest, headers: Record<string, string>): Promise<RawResponse> {
    const timeoutMs = this.#options.timeoutMs ?? 10_000;
    try {
      const response = await request(`${baseUrl}${req.pathWithQuery}`, {
        method: req.method,
        headers,
        ...(req.body !== undefined ? { body: req.body } : {}),
        dispatcher: this.#dispatcher,
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const body = Buffer.from(await response.body.arrayBuffer());
      return { status: response.statusCode, headers: response.headers, body };
    } catch (cause) {
      const name = (cause as { name?: string; code?: string })?.name;
      const code = (cause as { code?: string })?.code;
      if (
        name === 'TimeoutError' ||
        name === 'AbortError' ||
        code === 'UND_ERR_HEADERS_TIMEOUT' ||
        code === 'UND_ERR_BODY_TIMEOUT'
      ) {
        return Promise.reject(new TimeoutError(undefined, { cause }));
      }
      return Promise.reject(new NetworkError(undefined, { cause }));
    }
  }

  #record(operation: string, outcome: CallOutcome, attempts: number, started: number, status?: number): void {
    this.#stats.calls[outcome] = (this.#stats.calls[outcome] ?? 0) + 1;
    this.#emit({
      type: 'call',
      operation,
      outcome,
      attempts,
      durationMs: performance.now() - started,
      ...(status !== undefined ? { status } : {}),
    });
  }

  #emit(event: ClientEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch {
      // A metrics callback must never break a payment call.
    }
  }
}
