import type { AlertType } from '@paysync/contracts';

/**
 * The runbook (docs/runbooks/<name>.md) for each domain alert type. The Prometheus rules carry
 * their own runbook_url annotations, pointing at the same files.
 */
export const DOMAIN_RUNBOOKS: Record<AlertType, string> = {
  missed_notification: 'missed-notifications',
  amount_mismatch: 'settlement-mismatch',
  merchant_mismatch: 'settlement-mismatch',
  late_payment: 'late-payments',
  unknown_order: 'dead-letters',
  observation_dead_lettered: 'dead-letters',
  refund_exceeds_balance: 'refund-exceeds-balance',
  order_needs_attention: 'orders-pending-past-expiry',
  notify_url_unhealthy: 'notify-url-unhealthy',
  wechat_api_unavailable: 'wechat-api-breaker-open',
  unverified_observation: 'unverified-observations',
  refund_unknown: 'refunds-unknown',
  refund_abnormal: 'refund-abnormal',
};

export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/paysync/paysync/blob/main/docs/runbooks/';

export function runbookUrlFor(type: AlertType, baseUrl: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return `${base}${DOMAIN_RUNBOOKS[type]}.md`;
}
