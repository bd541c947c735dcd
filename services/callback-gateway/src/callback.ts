import { randomUUID } from 'node:crypto';
import type { Clock } from '@paysync/contracts';
import { describeError, type Logger } from '@paysync/observability';
import {
  type HeaderInput,
  headerLookup,
  MissingHeaderError,
  NOTIFY_PROBE_USER_AGENT,
  type NotificationVerifier,
  SIGNATURE_PROBE_PREFIX,
  StaleTimestampError,
  UnreadableNotificationError,
  WECHATPAY_HEADERS,
} from '@paysync/wechatpay';
import {
  callbackFailure,
  failureOutcome,
  type NotificationOutcome,
  signatureFailureReason,
} from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import { type Merchant, notificationObservation } from './observation.ts';
import type { ObservationPublisher } from './publisher.ts';

export type CallbackDeps = {
  verifier: NotificationVerifier;
  publisher: ObservationPublisher;
  merchant: Merchant;
  metrics: GatewayMetrics;
  logger: Logger;
  clock?: Clock;
  newId?: () => string;
};

export type CallbackAnswer = {
  status: number;
  /** Absent for 204. */
  body?: { code: 'FAIL'; message: string };
};

/** What one notification line in the log says: ids, outcome, latency — never headers or payload. */
export type NotificationLog = {
  api: 'v3' | 'v2';
  outcome: NotificationOutcome;
  status: number;
  latency_ms: number;
  notification_id?: string;
  out_trade_no?: string;
  event_type?: string;
  serial?: string;
  wechat_request_id?: string;
};

const SAFE_TOKEN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** A header value fit for a log line, or a marker when it is not the shape WeChat uses. */
function safe(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return SAFE_TOKEN.test(value) ? value : '(invalid)';
}

/** Header lookup for logging: a repeated or non-text header reads as absent (the verifier refuses it). */
function lookup(headers: HeaderInput): (name: string) => string | undefined {
  let get: (name: string) => string | undefined;
  try {
    get = headerLookup(headers);
  } catch {
    return () => undefined;
  }
  return (name) => {
    try {
      return get(name);
    } catch {
      return undefined;
    }
  };
}

/**
 * Handles one APIv3 notification: verify (headers, timestamp window, signature over the raw body),
 * decrypt, check merchant and app, publish the observation and wait for Kafka's acks=all. Only then
 * 204; any failure is a `{"code":"FAIL"}` answer with the status of `callbackFailure`.
 */
export async function receiveV3Notification(
  deps: CallbackDeps,
  input: { headers: HeaderInput; body: Buffer },
): Promise<CallbackAnswer> {
  const clock = deps.clock ?? Date.now;
  const started = performance.now();
  const log: NotificationLog = { api: 'v3', outcome: 'acknowledged', status: 204, latency_ms: 0 };
  const header = lookup(input.headers);
  const serial = safe(header(WECHATPAY_HEADERS.serial));
  const requestId = safe(header(WECHATPAY_HEADERS.requestId));
  if (serial) log.serial = serial;
  if (requestId) log.wechat_request_id = requestId;
  let answer: CallbackAnswer = { status: 204 };
  try {
    const n = await deps.verifier.verify({ headers: input.headers, body: input.body });
    const skew = Math.floor(clock() / 1000) - n.timestamp;
    deps.metrics.clockSkew.set(skew);
    deps.metrics.clockSkewAbs.observe(Math.abs(skew));
    log.notification_id = n.id.slice(0, 64);
    log.event_type = n.eventType.slice(0, 64);
    const observation = notificationObservation(n, input, deps.merchant, {
      observedAt: new Date(clock()),
      observationId: (deps.newId ?? randomUUID)(),
    });
    if (observation === undefined) {
      // Signed by WeChat, but nothing paysync acts on: acknowledge, or WeChat retries for a day.
      log.outcome = 'ignored';
    } else {
      log.out_trade_no = observation.outTradeNo;
      await deps.publisher.publish(observation);
    }
  } catch (err) {
    const failure = callbackFailure(err);
    answer = { status: failure.status, body: { code: 'FAIL', message: failure.message } };
    log.outcome = failureOutcome(failure);
    log.status = failure.status;
    // Signed by WeChat and still unusable: a real payment refused, counted by the SLO (not junk).
    if (err instanceof UnreadableNotificationError) log.outcome = 'unreadable';
    const reason = signatureFailureReason(err);
    if (reason) {
      const probe = header(WECHATPAY_HEADERS.signature)?.startsWith(SIGNATURE_PROBE_PREFIX);
      // paysync's notify-URL probe (reconciler, payctl): unsigned on purpose, answered like any
      // unsigned request, logged as what it is instead of a warning every sweep.
      const ownProbe = err instanceof MissingHeaderError && header('user-agent') === NOTIFY_PROBE_USER_AGENT;
      if (ownProbe) log.outcome = 'notify_probe';
      // WeChat's own SIGNTEST probe of the signature check: expected to fail, never an error.
      else if (probe) log.outcome = 'signature_probe';
      deps.metrics.signatureFailures.inc({
        reason: probe || ownProbe ? 'probe' : reason,
      });
      if (err instanceof StaleTimestampError) deps.metrics.clockSkewAbs.observe(Math.abs(err.skewSeconds));
    }
    if (failure.status >= 500) {
      deps.logger.error({ error: errorSummary(err) }, 'notification not accepted: WeChat Pay will retry');
    }
  }
  finish(deps, log, started);
  return answer;
}

/** Counts, times and logs one answered notification. */
export function finish(
  deps: Pick<CallbackDeps, 'metrics' | 'logger'>,
  log: NotificationLog,
  started: number,
): void {
  const seconds = (performance.now() - started) / 1000;
  log.latency_ms = Math.round(seconds * 10_000) / 10;
  const result = log.status < 300 ? 'acknowledged' : log.status < 500 ? 'rejected' : 'failed';
  deps.metrics.notifications.inc({ api: log.api, outcome: log.outcome });
  deps.metrics.notificationDuration.observe({ api: log.api, result }, seconds);
  const level =
    log.status < 400 || log.outcome === 'notify_probe' ? 'info' : log.status < 500 ? 'warn' : 'error';
  deps.logger[level](log, 'notification');
}

/** Flat keys that must never carry a value in a notification line (none of NotificationLog's do). */
const NOTIFICATION_LINE_REDACTION = [
  'headers',
  'signature',
  'ciphertext',
  'openid',
  'authorization',
  'apiV3Key',
  'privateKey',
  'token',
  'secret',
];

/**
 * The logger for the per-notification lines and their errors. Those lines are a fixed set of
 * fields built here (ids, outcome, latency; never headers or payload), so they are redacted by a
 * flat key list instead of the service-wide wildcard list, which costs about 100 µs per line with
 * pino 10's redaction: 15% of the gateway's CPU at full load. The log-scan test covers both.
 */
export function notificationLogger(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: NOTIFICATION_LINE_REDACTION, censor: '[redacted]' } });
}

/** An error reduced to what may be logged: the one description every service uses. */
export const errorSummary = describeError;
