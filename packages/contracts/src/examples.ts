import { randomUUID } from 'node:crypto';
import { type MessageInput, TOPICS, type TopicName } from './index.ts';

/** One valid message per topic: documentation by example, and the fixtures of round-trip tests. */
export function exampleMessages(): { [T in TopicName]: MessageInput<T> } {
  return {
    [TOPICS.paymentObservations]: {
      observationId: randomUUID(),
      outTradeNo: 'RECHARGE_ORDER_20261126_0001',
      source: 'notification',
      observedAt: '2026-11-26T04:00:00.000Z',
      producer: 'callback-gateway',
      mchid: '1900007291',
      appid: 'wxd678efh567hg6787',
      tradeState: 'SUCCESS',
      transactionId: '4200001234202611260000000001',
      amount: { total: 1000, payerTotal: 1000, currency: 'CNY' },
      successTime: '2026-11-26T12:00:00+08:00',
      notificationId: 'EV-2018022511223320873',
      wechatRequestId: '08F78BB5AF0610D302A2D7D8E3B2A7C0',
    },
    [TOPICS.orderSettled]: {
      eventId: randomUUID(),
      outTradeNo: 'RECHARGE_ORDER_20261126_0001',
      status: 'paid',
      previousStatus: 'pending',
      userId: 'user-42',
      amountTotal: 1000,
      transactionId: '4200001234202611260000000001',
      pointsDelta: 1100,
      balanceAfter: 5100,
      settledVia: 'query',
      latePayment: false,
      refundedAmount: 0,
      partialRefund: false,
      settledAt: '2026-11-26T04:00:01.000Z',
    },
    [TOPICS.alerts]: {
      alertId: randomUUID(),
      type: 'missed_notification',
      severity: 'critical',
      outTradeNo: 'RECHARGE_ORDER_20261126_0001',
      summary: 'Paid order found by the reconciler, not by a notification',
      details: { age_seconds: 540, notify_url: 'https://pay.example.com/api/payment/wechat/callback' },
      dedupeKey: 'missed_notification:RECHARGE_ORDER_20261126_0001',
      source: 'reconciler',
      occurredAt: '2026-11-26T04:00:02.000Z',
    },
    [TOPICS.paymentObservationsDlq]: {
      reason: 'unknown_order',
      reasonDetail: 'no payment_orders row for out_trade_no RECHARGE_UNKNOWN_1',
      originalValue: '{"out_trade_no":"RECHARGE_UNKNOWN_1"}',
      originalTopic: TOPICS.paymentObservations,
      originalPartition: 3,
      originalOffset: '1234',
      outTradeNo: 'RECHARGE_UNKNOWN_1',
      failedAt: '2026-11-26T04:00:03.000Z',
    },
  };
}
