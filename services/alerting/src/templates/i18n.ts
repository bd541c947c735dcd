import type { AlertSeverity } from '@paysync/contracts';

export type Lang = 'zh' | 'en';

/** Human names of the domain alert types and of paysync's Prometheus alerts. */
const TYPE_NAMES: Record<string, { zh: string; en: string }> = {
  missed_notification: { zh: '支付通知丢失（对账发现已支付）', en: 'Missed payment notification' },
  amount_mismatch: { zh: '金额不一致，未入账', en: 'Amount mismatch, not settled' },
  merchant_mismatch: { zh: '商户号/AppID 不一致，未入账', en: 'Merchant or app mismatch, not settled' },
  late_payment: { zh: '订单失效后到账（需人工处理）', en: 'Payment after the order closed (needs a human)' },
  unknown_order: { zh: '未知订单的支付', en: 'Payment for an unknown order' },
  refund_exceeds_balance: { zh: '退款超过积分余额', en: 'Refund exceeds the points balance' },
  order_needs_attention: { zh: '订单长时间未终结', en: 'Order still pending long after expiry' },
  notify_url_unhealthy: { zh: '支付回调地址不可用', en: 'Notify URL unhealthy' },
  wechat_api_unavailable: { zh: '微信支付 API 不可用', en: 'WeChat Pay API unavailable' },
  observation_dead_lettered: { zh: '支付观测进入死信队列', en: 'Observation dead-lettered' },
  refund_unknown: {
    zh: '微信支付已退款，但本系统未见该退款',
    en: 'Refunded at WeChat, refund unknown here',
  },
  refund_abnormal: {
    zh: '退款异常（用户收款账户不可用），需人工处理',
    en: 'Refund ABNORMAL at WeChat (needs a person)',
  },
  unverified_observation: {
    zh: '无微信支付签名凭证的支付观测被拒绝',
    en: 'Observation without WeChat Pay signed evidence refused',
  },
  PaysyncNotificationErrorBudgetBurnFast: {
    zh: '支付回调失败率过高（快速消耗错误预算）',
    en: 'Notification failures burning the error budget fast',
  },
  PaysyncNotificationErrorBudgetBurnSlow: {
    zh: '支付回调失败率偏高（持续消耗错误预算）',
    en: 'Notification failures burning the error budget',
  },
  PaysyncMissedNotifications: {
    zh: '对账发现漏掉的支付通知',
    en: 'Missed notifications found by the reconciler',
  },
  PaysyncMissedNotificationsBurst: { zh: '大量支付通知丢失', en: 'Many missed notifications' },
  PaysyncOrdersPendingPastExpiry: { zh: '订单过期后仍为待支付', en: 'Orders pending past their expiry' },
  PaysyncOldestPendingOrderTooOld: { zh: '最早的待支付订单过旧', en: 'Oldest pending order too old' },
  PaysyncSettlementMismatch: { zh: '金额或商户不一致', en: 'Amount or merchant mismatch' },
  PaysyncLatePayments: { zh: '订单失效后到账', en: 'Late payments' },
  PaysyncLedgerConsumerLag: { zh: '积分账本消费积压', en: 'Ledger consumer lag' },
  PaysyncDeadLetters: { zh: '新的死信消息', en: 'New dead letters' },
  PaysyncDlqNotEmpty: { zh: '死信队列未处理', en: 'DLQ not empty' },
  PaysyncReconcilerNotSucceeding: { zh: '对账任务未成功运行', en: 'Reconciler not succeeding' },
  PaysyncReconcilerMissing: { zh: '对账任务无运行记录', en: 'Reconciler has never reported' },
  PaysyncWeChatApiBreakerOpen: { zh: '微信支付 API 熔断', en: 'WeChat Pay API breaker open' },
  PaysyncNotifyUrlUnhealthy: { zh: '支付回调地址不可用', en: 'Notify URL unhealthy' },
  PaysyncPaymentSuccessRatioLow: { zh: '支付成功率过低', en: 'Payment success ratio low' },
  PaysyncAlertingDeliveriesFailing: { zh: '告警投递失败', en: 'Alert deliveries failing' },
  PaysyncAlertingChannelBreakerOpen: { zh: '告警渠道熔断', en: 'Alert channel breaker open' },
};

export function typeName(type: string, lang: Lang): string {
  return TYPE_NAMES[type]?.[lang] ?? type;
}

const SEVERITY: Record<AlertSeverity, { zh: string; en: string }> = {
  critical: { zh: '严重', en: 'CRITICAL' },
  warning: { zh: '警告', en: 'WARNING' },
  info: { zh: '提示', en: 'INFO' },
};

export function severityName(s: AlertSeverity, lang: Lang): string {
  return SEVERITY[s][lang];
}

export const LABELS = {
  firing: { zh: '告警', en: 'FIRING' },
  resolved: { zh: '已恢复', en: 'RESOLVED' },
  type: { zh: '类型', en: 'Alert' },
  order: { zh: '订单号', en: 'Order' },
  summary: { zh: '摘要', en: 'Summary' },
  description: { zh: '说明', en: 'Description' },
  seen: { zh: '观察到的情况', en: 'What was seen' },
  source: { zh: '来源', en: 'Source' },
  startsAt: { zh: '发生时间', en: 'Started' },
  endsAt: { zh: '恢复时间', en: 'Resolved' },
  runbook: { zh: '处理手册', en: 'Runbook' },
  graph: { zh: '查看指标', en: 'Graph' },
  key: { zh: '去重键', en: 'Dedupe key' },
  digest: { zh: '条告警', en: 'alerts' },
  more: { zh: '另有 {n} 条未显示', en: '{n} more not shown' },
  truncated: { zh: '（内容过长已截断）', en: '(truncated)' },
  untrusted: { zh: '注意', en: 'Note' },
  untrustedNote: {
    zh: '以下文字和链接来自 Alertmanager 请求，paysync 未核实，请勿直接点击或照做',
    en: 'the text and links below came with the Alertmanager request; paysync has not checked them — do not follow them blindly',
  },
  unverified: { zh: '（未核实）', en: ' (unverified)' },
} as const satisfies Record<string, { zh: string; en: string }>;

export function label(key: keyof typeof LABELS, lang: Lang): string {
  return LABELS[key][lang];
}
