import { Counter, Gauge, Histogram, LATENCY_BUCKETS_SECONDS, type Registry } from '@paysync/observability';

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

/** The gateway's metrics. Label values are bounded enums (api, outcome, route template, reason). */
export function createGatewayMetrics(registry: Registry) {
  const registers = [registry];
  return {
    notifications: new Counter({
      name: 'paysync_gateway_notifications_total',
      help: 'Notifications answered, by API (v3, v2) and outcome (acknowledged, ignored, the error code in lower case; unreadable: signed by WeChat but unusable; signature_probe: WeChat’s SIGNTEST probe; notify_probe: paysync’s own).',
      labelNames: ['api', 'outcome'] as const,
      registers,
    }),
    notificationDuration: new Histogram({
      name: 'paysync_gateway_notification_duration_seconds',
      help: 'Time from receiving a notification to answering it, by API and result (acknowledged, rejected, failed).',
      labelNames: ['api', 'result'] as const,
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    }),
    signatureFailures: new Counter({
      name: 'paysync_gateway_signature_failures_total',
      help: 'Notifications refused before decryption, by reason (bad_signature, probe, stale_timestamp, unknown_serial, missing_header, unsupported_signature_type).',
      labelNames: ['reason'] as const,
      registers,
    }),
    publishFailures: new Counter({
      name: 'paysync_gateway_kafka_publish_failures_total',
      help: 'Observations Kafka did not acknowledge, by reason (timeout, error); each was answered 503.',
      labelNames: ['reason'] as const,
      registers,
    }),
    publishDuration: new Histogram({
      name: 'paysync_gateway_kafka_publish_duration_seconds',
      help: 'Time from handing an observation to the producer to its acks=all acknowledgement.',
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    }),
    publishBatchSize: new Histogram({
      name: 'paysync_gateway_kafka_publish_batch_size',
      help: 'Observations written per Kafka request (requests arriving together share one write).',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers,
    }),
    clockSkew: new Gauge({
      name: 'paysync_gateway_clock_skew_seconds',
      help: 'Our clock minus Wechatpay-Timestamp of the latest signed notification (positive: it arrived late or our clock is ahead).',
      registers,
    }),
    clockSkewAbs: new Histogram({
      name: 'paysync_gateway_clock_skew_abs_seconds',
      help: 'Absolute difference between our clock and Wechatpay-Timestamp, per notification whose timestamp was checked.',
      buckets: [1, 2, 5, 10, 30, 60, 120, 240, 300, 600, 3600],
      registers,
    }),
    inFlight: new Gauge({
      name: 'paysync_gateway_in_flight_requests',
      help: 'Requests being handled, by group (callback, api).',
      labelNames: ['group'] as const,
      registers,
    }),
    notifyUrlValid: new Gauge({
      name: 'paysync_gateway_notify_url_valid',
      help: '1 when the configured notify URL passes the start-up self-check, 0 when WeChat Pay could not use it.',
      registers,
    }),
    apiRequests: new Counter({
      name: 'paysync_gateway_api_requests_total',
      help: 'Order API requests, by route template, method and status code.',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
    }),
    apiDuration: new Histogram({
      name: 'paysync_gateway_api_request_duration_seconds',
      help: 'Order API request duration, by route template.',
      labelNames: ['route'] as const,
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    }),
    ordersCreated: new Counter({
      name: 'paysync_gateway_orders_total',
      help: 'Order creation requests, by trade type and outcome (created, repeated, conflict, prepay_failed).',
      labelNames: ['trade_type', 'outcome'] as const,
      registers,
    }),
    confirmations: new Counter({
      name: 'paysync_gateway_confirmations_total',
      help: 'confirm=true order reads, by outcome (settled, unchanged, pending, already_final, unknown_merchant, wechat_unavailable, publish_failed, rate_limited).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    keyRefreshes: new Counter({
      name: 'paysync_gateway_verification_key_refreshes_total',
      help: 'Platform certificate downloads, by reason (start, scheduled, unknown_serial, manual) and outcome.',
      labelNames: ['reason', 'outcome'] as const,
      registers,
    }),
    wechatCalls: new Counter({
      name: 'paysync_gateway_wechat_calls_total',
      help: 'Calls to WeChat Pay (prepay, query, certificates), by operation and outcome.',
      labelNames: ['operation', 'outcome'] as const,
      registers,
    }),
  };
}
