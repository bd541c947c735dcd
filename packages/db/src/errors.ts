/**
 * What a failed statement says about what is wrong, read from the mysql2 error's `errno`, `code`,
 * `sqlState` and `fatal` — never from its message, which changes between servers and versions.
 *
 * - `data`: the statement's own data is refused (a duplicate key, a value too long, a CHECK
 *   constraint): the same statement with other data would succeed. Only this may discard data
 *   (the ledger dead-letters the observation).
 * - `infrastructure`: the database is not ready for any data — unreachable, the connection lost
 *   or killed, restarting, read-only after a failover, out of connections, refusing the account
 *   or its grants, a table or column not migrated, a full disk, a deadlock or a lock held
 *   elsewhere. The same statement can succeed later unchanged: retry (the order API answers 503).
 * - `other`: a statement paysync itself wrote wrongly, or not a database error at all: a bug,
 *   neither retried as if the database were down nor blamed on the data (500).
 */
export const DB_ERROR_KINDS = ['data', 'infrastructure', 'other'] as const;
export type DbErrorKind = (typeof DB_ERROR_KINDS)[number];

/**
 * Server errors that are about the statement's own data, by error number (MySQL and MariaDB agree
 * on these): a duplicate on a unique key, a value too long, out of range, truncated or NULL where
 * none is allowed, a foreign key, invalid JSON, MySQL's CHECK constraint.
 */
const DATA_ERRNOS = new Set([
  1048, // ER_BAD_NULL_ERROR
  1062, // ER_DUP_ENTRY
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1265, // WARN_DATA_TRUNCATED
  1292, // ER_TRUNCATED_WRONG_VALUE
  1365, // ER_DIVISION_BY_ZERO
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
  1406, // ER_DATA_TOO_LONG
  1451, // ER_ROW_IS_REFERENCED_2
  1452, // ER_NO_REFERENCED_ROW_2
  1586, // ER_DUP_ENTRY_WITH_KEY_NAME
  3140, // ER_INVALID_JSON_TEXT (MySQL)
  3819, // ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
]);

/**
 * MariaDB's CHECK constraint error (ER_CONSTRAINT_FAILED). MySQL uses 4025 for an unrelated
 * configuration error, which does not carry SQLSTATE 23000 (integrity constraint violation).
 */
const MARIADB_CHECK_ERRNO = 4025;
const INTEGRITY_CONSTRAINT_SQLSTATE = '23000';

/** A statement paysync itself wrote wrongly: a bug, never the database's state. */
const STATEMENT_BUG_ERRNOS = new Set([1064 /* ER_PARSE_ERROR */, 1210 /* ER_WRONG_ARGUMENTS */]);

/**
 * Node's socket errors and mysql2's protocol errors (PROTOCOL_CONNECTION_LOST,
 * PROTOCOL_SEQUENCE_TIMEOUT, PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR…): the connection, not the data.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const PROTOCOL_CODE_PREFIX = 'PROTOCOL_';

/**
 * mysql2's pool refuses work after `end()` with a plain Error that has no code: this exact
 * message is the only thing that names it (a request served while the process shuts down).
 */
const POOL_CLOSED_MESSAGE = 'Pool is closed.';

type DriverError = {
  errno?: unknown;
  code?: unknown;
  sqlState?: unknown;
  fatal?: unknown;
  message?: unknown;
};

/** Classifies a database error (see DB_ERROR_KINDS); anything that is not one is `other`. */
export function classifyDbError(err: unknown): DbErrorKind {
  if (typeof err !== 'object' || err === null) return 'other';
  const { errno, code, sqlState, fatal, message } = err as DriverError;
  if (typeof errno === 'number') {
    if (DATA_ERRNOS.has(errno)) return 'data';
    if (errno === MARIADB_CHECK_ERRNO && sqlState === INTEGRITY_CONSTRAINT_SQLSTATE) return 'data';
    if (STATEMENT_BUG_ERRNOS.has(errno)) return 'other';
  }
  if (fatal === true) return 'infrastructure';
  // Every other answer of the server (it carries a SQLSTATE): ER_LOCK_DEADLOCK,
  // ER_LOCK_WAIT_TIMEOUT, ER_CON_COUNT_ERROR, ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED,
  // ER_OPTION_PREVENTS_STATEMENT (read-only), ER_ACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR,
  // ER_NO_SUCH_TABLE, ER_BAD_FIELD_ERROR (not migrated), ER_RECORD_FILE_FULL…
  if (typeof sqlState === 'string') return 'infrastructure';
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith(PROTOCOL_CODE_PREFIX))) {
    return 'infrastructure';
  }
  if (message === POOL_CLOSED_MESSAGE) return 'infrastructure';
  return 'other';
}

/**
 * A connection that could not be made, or was lost: the network, the server gone, the account or
 * the database name refused. Narrower than `infrastructure` (which also holds lock waits, missing
 * grants or tables on a working connection): what payctl reports as "cannot reach MySQL".
 */
const CONNECTION_FAILURE_CODES = new Set([
  ...NETWORK_CODES,
  'PROTOCOL_CONNECTION_LOST',
  'ER_ACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
]);

export function isConnectionFailure(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && CONNECTION_FAILURE_CODES.has(code);
}

/**
 * True only for an error known to be about the data a statement carried — the same statement with
 * other data would succeed. Everything else says the database is not ready for any data, or is a
 * bug: retry, never discard the data.
 */
export function isDataError(err: unknown): boolean {
  return classifyDbError(err) === 'data';
}

/**
 * True for an error of the database rather than of the data or the code: a request that met one
 * can succeed later unchanged (503 and retry, not 500).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  return classifyDbError(err) === 'infrastructure';
}

const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

/** Deadlocks and lock-wait timeouts: the whole transaction may be retried. */
export function isRetryableTransactionError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && RETRYABLE.has((err as { code?: string }).code ?? '');
}

/**
 * A row lock held elsewhere for longer than innodb_lock_wait_timeout (an operator's open
 * `SELECT … FOR UPDATE`, a long transaction): waiting again would only wait again.
 */
export function isLockWaitTimeout(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && (err as { code?: string }).code === 'ER_LOCK_WAIT_TIMEOUT'
  );
}

/** A duplicate-key error: a unique key refused a second row (used for exactly-once writes). */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'ER_DUP_ENTRY';
}
