import { randomUUID } from 'node:crypto';
import type { DomainAlert, MessageInput, TOPICS } from '@paysync/contracts';

export type AlertInput = MessageInput<typeof TOPICS.alerts>;

type Details = DomainAlert['details'];

function alert(
  source: string,
  now: Date,
  fields: Pick<DomainAlert, 'type' | 'severity' | 'summary' | 'dedupeKey'> & {
    outTradeNo?: string;
    details: Details;
  },
): AlertInput {
  return { alertId: randomUUID(), source, occurredAt: now.toISOString(), ...fields };
}

/** WeChat says paid, we had not heard: the notify path is broken (the incident's signal). */
export function missedNotificationAlert(
  source: string,
  now: Date,
  order: { outTradeNo: string; createdAt: Date },
  successTime: string | undefined,
  delaySeconds: number,
): AlertInput {
  return alert(source, now, {
    type: 'missed_notification',
    severity: 'warning',
    outTradeNo: order.outTradeNo,
    summary: `WeChat reports ${order.outTradeNo} paid ${delaySeconds} s ago but no notification settled it: check the notify URL`,
    dedupeKey: `missed_notification:${order.outTradeNo}`,
    details: {
      success_time: successTime ?? null,
      order_created_at: order.createdAt.toISOString(),
      delay_seconds: delaySeconds,
    },
  });
}

/** Still pending long after it should have become final. */
export function needsAttentionAlert(
  source: string,
  now: Date,
  order: { outTradeNo: string; timeExpire: Date; checkAttempts: number },
  lastState: string | undefined,
  why: string,
): AlertInput {
  return alert(source, now, {
    type: 'order_needs_attention',
    severity: 'warning',
    outTradeNo: order.outTradeNo,
    summary: `${order.outTradeNo} is still pending after its horizon: ${why}`,
    dedupeKey: `order_needs_attention:${order.outTradeNo}`,
    details: {
      time_expire: order.timeExpire.toISOString(),
      check_attempts: order.checkAttempts,
      last_wechat_state: lastState ?? null,
      why,
    },
  });
}

/** An order of a merchant this process has no credentials for: configuration, not WeChat, is wrong. */
export function unknownMerchantAlert(
  source: string,
  now: Date,
  order: { outTradeNo: string; mchid: string; timeExpire: Date; checkAttempts: number },
  ours: string,
): AlertInput {
  const why = `no WeChat Pay credentials for merchant ${order.mchid} (this process signs for ${ours}); not queried`;
  return alert(source, now, {
    type: 'order_needs_attention',
    severity: 'warning',
    outTradeNo: order.outTradeNo,
    summary: `${order.outTradeNo} cannot be checked: ${why}`,
    dedupeKey: `order_needs_attention:${order.outTradeNo}`,
    details: {
      time_expire: order.timeExpire.toISOString(),
      check_attempts: order.checkAttempts,
      last_wechat_state: null,
      why,
    },
  });
}

/** The breaker opened: WeChat Pay's API is failing; the run stopped early. */
export function wechatUnavailableAlert(
  source: string,
  now: Date,
  scope: string,
  details: Details,
): AlertInput {
  return alert(source, now, {
    type: 'wechat_api_unavailable',
    severity: 'critical',
    summary: `WeChat Pay API unavailable (circuit breaker open): ${scope} stopped early`,
    dedupeKey: `wechat_api_unavailable:${scope}`,
    details,
  });
}

/** The public notify URL cannot receive notifications. */
export function notifyUrlUnhealthyAlert(
  source: string,
  now: Date,
  url: string,
  details: Details,
): AlertInput {
  return alert(source, now, {
    type: 'notify_url_unhealthy',
    severity: 'critical',
    summary: `The notify URL ${url} cannot receive WeChat Pay notifications`,
    dedupeKey: `notify_url_unhealthy:${url}`,
    details,
  });
}
