/**
 * Every code a ReconcileError carries (README "Error codes"; a test keeps the two equal). Closed:
 * the reconciler counts run failures by code (paysync_reconciler_errors_total), so the label's
 * values are known.
 */
export const RECONCILE_ERROR_CODES = [
  'INVALID_SHARD',
  'PUBLISH_FAILED',
  'DB_FAILED',
  'REASON_REQUIRED',
  'INVALID_BILL_DATE',
  'DIFFERENCE_NOT_OPEN',
  'TOO_MANY_DIFFERENCES',
] as const;
export type ReconcileErrorCode = (typeof RECONCILE_ERROR_CODES)[number];

/** Typed errors of the order-sync library. Messages never carry keys, signatures or payer data. */
export class ReconcileError extends Error {
  readonly code: ReconcileErrorCode;

  constructor(code: ReconcileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** `--shard` / RECONCILER_SHARD is not `i/n` with 0 ≤ i < n. */
export class InvalidShardError extends ReconcileError {
  constructor(value: string) {
    super('INVALID_SHARD', `shard must look like i/n with 0 <= i < n <= 1024 (got "${value}")`);
  }
}

/** Kafka did not acknowledge observations or alerts: nothing about the order may be recorded as done. */
export class PublishFailedError extends ReconcileError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('PUBLISH_FAILED', `Kafka did not acknowledge ${what}`, options);
  }
}

/** A database statement of the sync failed (claim, schedule, audit). */
export class StoreFailedError extends ReconcileError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('DB_FAILED', `database ${what} failed`, options);
  }
}

/** A non-dry operator action was requested without the reason the audit log requires. */
export class ReasonRequiredError extends ReconcileError {
  constructor() {
    super('REASON_REQUIRED', 'a reason is required for every change (it goes into the audit log)');
  }
}
