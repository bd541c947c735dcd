/** Counts of everything the sandbox did, readable by tests (`sandbox.counters()`). */
export interface Counters {
  /** `METHOD /route/template` → HTTP status → count. */
  requests: Record<string, Record<string, number>>;
  /** Merchant requests whose Authorization was missing, malformed or did not verify. */
  signatureFailures: number;
  /** 429 answers from the QPS limit. */
  rateLimited: number;
  faults: {
    injectedErrors: number;
    injected429: number;
    responseProbes: number;
    /** Responses sent without signature headers (the `unsignedNextResponses` fault). */
    unsignedResponses: number;
    connectionsReset: number;
    /** Refund creates answered NOT_ENOUGH by `refundNotEnoughNext`. */
    refundNotEnough: number;
    /** Refund creates answered SYSTEM_ERROR by `refundSystemErrorNext`. */
    refundSystemErrors: number;
    /** Accepted refund creates whose answer was lost (`loseNextRefundAnswers`). */
    refundAnswersLost: number;
  };
  notifications: {
    /** Notifications created (one per event, whatever happened to its deliveries). */
    created: number;
    /** Delivery attempts, including retries, duplicates and unreachable ones. */
    attempts: number;
    /** Attempts answered 200/204 in time. */
    acknowledged: number;
    /** Attempts that failed (non-success status, timeout, connection error, unreachable). */
    failed: number;
    /** Notifications dropped by the drop faults (`dropNotificationShare`, `dropRefundNotifications`). */
    dropped: number;
    /** Duplicate copies sent. */
    duplicated: number;
    /** Notifications that used up all 15 retries without success. */
    exhausted: number;
    /** Deliveries sent with a probe signature. */
    probes: number;
  };
}

export function emptyCounters(): Counters {
  return {
    requests: {},
    signatureFailures: 0,
    rateLimited: 0,
    faults: {
      injectedErrors: 0,
      injected429: 0,
      responseProbes: 0,
      unsignedResponses: 0,
      connectionsReset: 0,
      refundNotEnough: 0,
      refundSystemErrors: 0,
      refundAnswersLost: 0,
    },
    notifications: {
      created: 0,
      attempts: 0,
      acknowledged: 0,
      failed: 0,
      dropped: 0,
      duplicated: 0,
      exhausted: 0,
      probes: 0,
    },
  };
}

export function countRequest(counters: Counters, route: string, status: number): void {
  counters.requests[route] ??= {};
  const byStatus = counters.requests[route];
  byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1;
}
