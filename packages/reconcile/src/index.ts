// Order sync shared by the reconciler sweep, the PaymentRepair operator and payctl.
export {
  type AlertInput,
  missedNotificationAlert,
  needsAttentionAlert,
  notifyUrlUnhealthyAlert,
  wechatUnavailableAlert,
} from './alerts.ts';
export {
  type AuditRecord,
  type AuditWriter,
  auditWriter,
  completeAudit,
  insertAudit,
  type OrderSnapshot,
  orderSnapshots,
} from './audit.ts';
export {
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  delayAfterCheck,
  nextCheckAt,
  type ScheduleKind,
} from './backoff.ts';
export { Batcher } from './batcher.ts';
// T+1 trade-bill reconciliation.
export {
  type BillBooks,
  BillDiffer,
  type BookedOrder,
  DIFFERENCE_CLASSES,
  DIFFERENCE_RULES,
  type Difference,
  type DifferenceAction,
  type DifferenceClass,
  packOrder,
  type Severity,
  TooManyDifferencesError,
} from './bill-diff.ts';
export { PaidOrderSet } from './bill-paid-set.ts';
export {
  BILL_DATE_PATTERN,
  type BillRunDeps,
  type BillRunOptions,
  type BillRunSummary,
  InvalidBillDateError,
  type RefundQuery,
  refundQueryThroughLedger,
  runTradeBill,
} from './bill-run.ts';
export {
  type BillRunRecord,
  type BillRunStatus,
  billBooks,
  billDifferences,
  billRun,
  DifferenceNotOpenError,
  type DifferenceRecord,
  listBillRuns,
  openDifferenceCounts,
  resolveDifference,
} from './bill-store.ts';
export {
  InvalidShardError,
  PublishFailedError,
  RECONCILE_ERROR_CODES,
  ReasonRequiredError,
  ReconcileError,
  type ReconcileErrorCode,
  StoreFailedError,
} from './errors.ts';
export { type JournalEntry, journalEntries, orderJournal, waitForJournal } from './journal.ts';
export { type AdvisoryLock, scopedLockName, tryAdvisoryLock } from './lock.ts';
export { loadOrders, type RangeCursor, selectOrdersCreatedBetween } from './lookup.ts';
export {
  CALLBACK_PATH,
  type NotifyProbeOptions,
  type NotifyProbeResult,
  probeNotifyUrl,
} from './notify-probe.ts';
export { answerObservation, type ObservationOrigin } from './observation.ts';
export { createKafkaPublisher, type KafkaPublisherOptions, NO_PUBLISH, type Publisher } from './publisher.ts';
export {
  AdaptiveRateLimiter,
  type RateLimiterOptions,
  type RateLimiterStats,
} from './rate-limiter.ts';
export { type RefundSweepDeps, type RefundSweepReport, sweepRefunds } from './refund-sweep.ts';
export {
  type RepairActor,
  type RepairDeps,
  type RepairedOrder,
  type RepairOptions,
  type RepairRun,
  type RepairSelection,
  repairOrders,
  selectRepairOrders,
} from './repair.ts';
export {
  type Replay,
  type ReplayDeps,
  type ReplayMode,
  type ReplayOptions,
  replayLastObservation,
} from './replay.ts';
export {
  parseShard,
  type Shard,
  shardLabel,
  shardOf,
  shardPredicate,
  sweepLockName,
  WHOLE,
} from './shard.ts';
export {
  CLAIM_LOCK_SQL,
  type ClaimedPage,
  claimDueOrders,
  countDueOrders,
  dueOrdersSql,
  ORDER_COLUMNS,
  releaseClaims,
  type ScheduleUpdate,
  type SyncOrder,
  writeSchedules,
} from './store.ts';
export { syncOrder } from './sync.ts';
export {
  type CallPacer,
  DEFAULT_SYNC_POLICY,
  SYNC_OUTCOMES,
  type SyncDeps,
  type SyncOutcome,
  type SyncPolicy,
  type SyncResult,
  type WeChatOrders,
} from './sync-types.ts';
export { arrayFeed, type Feed, runWorkers } from './workers.ts';
