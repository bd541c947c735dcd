import { z } from 'zod';

const share = z.number().min(0).max(1);
const count = z.number().int().min(0);

/** Every fault the sandbox can inject. */
export const faultsSchema = z.strictObject({
  /** The incident: the notify URL cannot be reached (deliveries fail and are retried on schedule). */
  notifyUnreachable: z.enum(['off', 'refused', 'not_attempted']),
  /** Share of notifications lost entirely: never delivered, never retried. */
  dropNotificationShare: share,
  /** Share of notifications delivered again after their first delivery (same notification id). */
  duplicateNotificationShare: share,
  /** Copies sent for each duplicated notification. */
  duplicateCopies: z.number().int().min(1).max(10),
  /** Real milliseconds between the first delivery and each duplicate. */
  duplicateGapMs: count,
  /** Real milliseconds added before the first delivery of each notification. */
  notifyDelayMs: count,
  /** The next N notification deliveries carry a `WECHATPAY/SIGNTEST/` signature. */
  probeNextNotifications: count,
  /**
   * The next N notifications carry a resource whose GCM tag is wrong but are signed correctly, as if
   * WeChat had encrypted with another APIv3 key: only decryption can catch it.
   */
  corruptNextNotificationResources: count,
  /** The next N signed API responses carry a `WECHATPAY/SIGNTEST/` signature. */
  probeNextResponses: count,
  /**
   * The next N API responses (any status, error answers included) carry no `Wechatpay-*` headers,
   * as an egress proxy, a misrouted base URL or an error page in between would answer.
   */
  unsignedNextResponses: count,
  /** Shift the Wechatpay-Timestamp of notifications by this many seconds (stale/future signatures). */
  notificationSkewSeconds: z.number().int(),
  /** Shift the Wechatpay-Timestamp of API responses by this many seconds. */
  responseSkewSeconds: z.number().int(),
  /** The next N faultable API calls answer `failStatus` (SYSTEM_ERROR, unsigned). */
  failNextQueries: count,
  failStatus: z.union([z.literal(500), z.literal(502), z.literal(503)]),
  /** Share of faultable API calls answered 429 RATELIMIT_EXCEEDED. */
  rateLimitShare: share,
  /** Real milliseconds added to each faultable API call. */
  queryLatencyMs: count,
  /** Which API calls the query faults hit: order queries only (default) or every /v3 call. */
  faultScope: z.enum(['query', 'api']),
  /** Down: every connection to the sandbox's /v3 API is reset without an answer. */
  down: z.boolean(),
  /**
   * The next N refund creates that would create a refund answer 403 NOT_ENOUGH (基本账户余额不足)
   * and create nothing; a later retry with the same out_refund_no succeeds.
   */
  refundNotEnoughNext: count,
  /** The next N refund creates answer 500 SYSTEM_ERROR (signed, from WeChat itself) and create nothing. */
  refundSystemErrorNext: count,
  /**
   * The next N refund creates answered 200 are accepted (the refund exists and completes as usual)
   * but the answer is lost (see `lostRefundAnswer`): WeChat took it, the caller timed out.
   */
  loseNextRefundAnswers: count,
  /** How an answer is lost: an unsigned 500 SYSTEM_ERROR (default) or a connection reset. */
  lostRefundAnswer: z.enum(['system_error', 'reset']),
  /** Share of REFUND.* notifications lost entirely (on top of `dropNotificationShare`). */
  dropRefundNotifications: share,
  /**
   * Where refunds created through the refund API end after `refundDelayMs`; PROCESSING = they stay
   * open until `settleRefund` (or `POST /sandbox/refunds/:out_refund_no/settle`).
   */
  refundOutcome: z.enum(['SUCCESS', 'ABNORMAL', 'CLOSED', 'PROCESSING']),
});

export type Faults = z.output<typeof faultsSchema>;
export type FaultsPatch = Partial<Faults>;
/** A partial update: only the fields given change. */
export const faultsPatchSchema = faultsSchema.partial();

/** All faults off. */
export function defaultFaults(): Faults {
  return {
    notifyUnreachable: 'off',
    dropNotificationShare: 0,
    duplicateNotificationShare: 0,
    duplicateCopies: 1,
    duplicateGapMs: 20,
    notifyDelayMs: 0,
    probeNextNotifications: 0,
    corruptNextNotificationResources: 0,
    probeNextResponses: 0,
    unsignedNextResponses: 0,
    notificationSkewSeconds: 0,
    responseSkewSeconds: 0,
    failNextQueries: 0,
    failStatus: 500,
    rateLimitShare: 0,
    queryLatencyMs: 0,
    faultScope: 'query',
    down: false,
    refundNotEnoughNext: 0,
    refundSystemErrorNext: 0,
    loseNextRefundAnswers: 0,
    lostRefundAnswer: 'system_error',
    dropRefundNotifications: 0,
    refundOutcome: 'SUCCESS',
  };
}
