export { type BillFaults, billFaultsSchema, defaultBillFaults } from './bill-faults.ts';
export type { Counters } from './counters.ts';
export { SandboxError } from './errors.ts';
export { defaultFaults, type Faults, type FaultsPatch, faultsSchema } from './faults.ts';
export type { PlatformCertificate, PlatformPublicKey } from './keys.ts';
export { generateTestMerchant, type Merchant, type MerchantConfig, type TestMerchant } from './merchants.ts';
export type { EventType } from './notification-body.ts';
export type { DeliveryAttempt, DeliveryOutcome, NotificationRecord, NotificationState } from './notifier.ts';
export type { RefundControlOptions, SettleRefundOptions } from './operations.ts';
export { type SandboxConfig, type SandboxOptions, sandboxOptionsSchema } from './options.ts';
export type {
  RefundChannel,
  RefundResource,
  RefundSource,
  RefundStatus,
  TradeState,
  TradeType,
  TransactionResource,
} from './order-types.ts';
export { MAX_REFUNDS_PER_ORDER, type PayOptions, type RefundOptions } from './orders.ts';
export type { KeyMode, PlatformKeysView, PublicKeyOptions, RotateOptions } from './platform.ts';
export { type NotificationFilter, type OrderRef, type Sandbox, startSandbox } from './sandbox.ts';
export { beijingTime, type Clock, NOTIFY_RETRY_SCHEDULE_MS } from './time.ts';
export type { OrderView, RefundApiView, RefundView } from './views.ts';
