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
  isDatabaseUnavailable,
  isDataError,
  isDuplicateKeyError,
  isLockWaitTimeout,
  isRetryableTransactionError,
  type Pool,
  type PoolConnection,
  type PoolOptions,
  type ResultSetHeader,
  type RowDataPacket,
  redactMysqlUrl,
  withTransaction,
} from './pool.ts';
