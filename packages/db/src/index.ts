export {
  classifyDbError,
  DB_ERROR_KINDS,
  type DbErrorKind,
  isConnectionFailure,
  isDatabaseUnavailable,
  isDataError,
  isDuplicateKeyError,
  isLockWaitTimeout,
  isRetryableTransactionError,
} from './errors.ts';
export {
  type Account,
  applyGrants,
  COMPONENT_GRANTS,
  COMPONENTS,
  type Component,
  componentUser,
  createComponentAccount,
  grantStatements,
  type TableGrant,
} from './grants.ts';
export {
  loadMigrations,
  MIGRATIONS_DIR,
  type MigrateOptions,
  type Migration,
  MigrationError,
  type MigrationState,
  migrateUp,
  migrationStatus,
  splitStatements,
} from './migrate.ts';
export {
  DUE_PENDING_ORDERS_INDEX,
  DUE_PENDING_ORDERS_SQL,
  type DueOrder,
  selectDuePendingOrders,
} from './orders.ts';
export {
  createPool,
  type Pool,
  type PoolConnection,
  type PoolOptions,
  type ResultSetHeader,
  type RowDataPacket,
  redactMysqlUrl,
  withTransaction,
} from './pool.ts';
export {
  findRefund,
  findRefundByMerchantNo,
  insertRefund,
  listRefunds,
  lockRefunds,
  type NewRefund,
  orderTotals,
  type RefundRow,
  type RefundUpdate,
  refundsUnderWay,
  refundTracker,
  saveRefundUpdates,
  selectDueRefunds,
} from './refunds.ts';
