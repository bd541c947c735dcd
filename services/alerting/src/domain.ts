import type { DomainAlert } from '@paysync/contracts';
import type { Notice } from './notice.ts';
import { runbookUrlFor } from './runbooks.ts';

/** A domain alert from `paysync.alerts.v1` as a notice (domain alerts only ever fire). */
export function noticeFromDomainAlert(alert: DomainAlert, runbookBaseUrl: string): Notice {
  return {
    source: 'domain',
    status: 'firing',
    dedupeKey: alert.dedupeKey,
    type: alert.type,
    severity: alert.severity,
    ...(alert.outTradeNo !== undefined ? { outTradeNo: alert.outTradeNo } : {}),
    summary: alert.summary,
    details: alert.details,
    producer: alert.source,
    startsAt: alert.occurredAt,
    runbookUrl: runbookUrlFor(alert.type, runbookBaseUrl),
  };
}
