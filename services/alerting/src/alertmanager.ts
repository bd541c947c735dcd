import { createHash } from 'node:crypto';
import type { AlertSeverity } from '@paysync/contracts';
import { z } from 'zod';
import type { Notice } from './notice.ts';

// Alertmanager's webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
// Unknown fields are kept out of the way, not refused: newer Alertmanagers add fields to version 4.

const labelSet = z.record(z.string(), z.string());

/**
 * The most alerts one webhook request may carry (413 above). Alertmanager's `max_alerts` in the
 * webhook_config keeps it there (the chart sets it); one request is one MySQL transaction.
 */
export const MAX_ALERTS_PER_REQUEST = 500;

/**
 * The alertnames of paysync's own Prometheus rules (charts/paysync/files/monitoring): the only
 * values the received-alerts metric takes for Alertmanager alerts, every other name counting as
 * `other`, so a sender cannot grow the metric without bound.
 */
export const KNOWN_ALERTNAMES: ReadonlySet<string> = new Set([
  'PaysyncNotificationErrorBudgetBurnFast',
  'PaysyncNotificationErrorBudgetBurnSlow',
  'PaysyncNotifyPathFailing',
  'PaysyncNotificationsNotArriving',
  'PaysyncMissedNotifications',
  'PaysyncMissedNotificationsBurst',
  'PaysyncNotifyUrlUnhealthy',
  'PaysyncClockSkewHigh',
  'PaysyncVerificationKeyRefreshFailing',
  'PaysyncOrdersPendingPastExpiry',
  'PaysyncOldestPendingOrderTooOld',
  'PaysyncSettlementMismatch',
  'PaysyncLatePayments',
  'PaysyncPaymentSuccessRatioLow',
  'PaysyncOrderApiErrors',
  'PaysyncOrderApiSlow',
  'PaysyncLedgerConsumerLag',
  'PaysyncDlqNotEmpty',
  'PaysyncLedgerMetricsSourceDown',
  'PaysyncReconcilerNotSucceeding',
  'PaysyncReconcilerMissing',
  'PaysyncReconcilerFallingBehind',
  'PaysyncWeChatApiBreakerOpen',
  'PaysyncGatewayDown',
  'PaysyncOrderServiceDown',
  'PaysyncLedgerDown',
  'PaysyncAlertingDown',
  'PaysyncOperatorDown',
  'PaysyncOperatorNoLeader',
  'PaysyncPaymentRepairFailed',
  'PaysyncWatchdog',
  'PaysyncAlertingDeliveriesFailing',
  'PaysyncAlertingChannelBreakerOpen',
  'PaysyncAlertingUnrouted',
  'PaysyncTradeBillNotReconciled',
  'PaysyncTradeBillMissing',
  'PaysyncTradeBillCriticalDifference',
  'PaysyncTradeBillPaymentsNotSettled',
  'PaysyncRefundStuck',
]);

/** The metric label of an Alertmanager alertname: a known rule's name, or `other`. */
export function alertnameLabel(alertname: string): string {
  return KNOWN_ALERTNAMES.has(alertname) ? alertname : 'other';
}

/** A label value as plain name characters (no markup, no link) for headlines and the producer. */
function plainName(value: string, max: number): string {
  return value.replace(/[^A-Za-z0-9_:.-]/g, '_').slice(0, max) || '_';
}

export const alertmanagerAlert = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet.refine((l) => typeof l.alertname === 'string' && l.alertname.length > 0, {
    message: 'labels.alertname is required',
  }),
  annotations: labelSet.default({}),
  startsAt: z.string().min(1),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1).max(64).optional(),
});
export type AlertmanagerAlert = z.infer<typeof alertmanagerAlert>;

export const alertmanagerPayload = z.looseObject({
  version: z.literal('4'),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(128),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: labelSet.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(alertmanagerAlert).min(1).max(MAX_ALERTS_PER_REQUEST),
});
export type AlertmanagerPayload = z.infer<typeof alertmanagerPayload>;

const SEVERITIES = new Set<string>(['critical', 'warning', 'info']);

/** Alertmanager's own fingerprint when it sent one; otherwise a hash of the sorted label set. */
export function fingerprintOf(alert: AlertmanagerAlert): string {
  if (alert.fingerprint) return alert.fingerprint;
  const canonical = Object.entries(alert.labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/**
 * The episode of an alert: Alertmanager's fingerprint plus when this firing started. Repeats of
 * the same episode (repeat_interval, group changes, several Alertmanager replicas) share it; the
 * alert firing again after it resolved is a new episode and is told again.
 */
export function alertmanagerDedupeKey(alert: AlertmanagerAlert): string {
  const started = Date.parse(alert.startsAt);
  const episode = Number.isFinite(started) ? String(started) : alert.startsAt.slice(0, 64);
  return `alertmanager:${fingerprintOf(alert)}:${episode}`;
}

function severityOf(labels: Record<string, string>): AlertSeverity {
  const s = labels.severity ?? '';
  return (SEVERITIES.has(s) ? s : 'warning') as AlertSeverity;
}

function trimmed(value: string | undefined, max: number): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

/** Each alert of a webhook call as a notice, with its own status (a group may mix them). */
export function noticesFromAlertmanager(payload: AlertmanagerPayload): Notice[] {
  return payload.alerts.map((alert) => {
    const { alertname, severity: _severity, ...rest } = alert.labels;
    const a = alert.annotations;
    const summary = trimmed(a.summary, 1024) ?? (alertname as string);
    const endsAt = alert.status === 'resolved' ? alert.endsAt : undefined;
    const notice: Notice = {
      source: 'alertmanager',
      status: alert.status,
      dedupeKey: alertmanagerDedupeKey(alert),
      type: plainName(alertname as string, 64),
      severity: severityOf(alert.labels),
      summary,
      details: rest,
      producer: `alertmanager:${plainName(payload.receiver, 115)}`,
      startsAt: alert.startsAt,
    };
    const outTradeNo = rest.out_trade_no;
    if (outTradeNo) notice.outTradeNo = outTradeNo.slice(0, 64);
    const description = trimmed(a.description, 4096);
    if (description) notice.description = description;
    const summaryZh = trimmed(a.summary_zh, 1024);
    if (summaryZh) notice.summaryZh = summaryZh;
    const descriptionZh = trimmed(a.description_zh, 4096);
    if (descriptionZh) notice.descriptionZh = descriptionZh;
    if (endsAt) notice.endsAt = endsAt;
    const runbook = trimmed(a.runbook_url, 1024);
    if (runbook) notice.runbookUrl = runbook;
    const link = trimmed(alert.generatorURL, 2048);
    if (link) notice.link = link;
    return notice;
  });
}
